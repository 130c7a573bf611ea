// The subcommands of the phrgate binary. Each returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace phrgate::cli {

int cmd_run(const std::vector<std::string>& args);
int cmd_check_config(const std::vector<std::string>& args);
int cmd_convert(const std::vector<std::string>& args);
int cmd_send(const std::vector<std::string>& args);
int cmd_mappings(const std::vector<std::string>& args);
int cmd_version();

}  // namespace phrgate::cli
