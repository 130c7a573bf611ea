// `phrgate send`: a small MLLP client for hospital IT and for the demo: sends each HL7 v2
// message of the given files and prints the MSA segment of each acknowledgement.
// Exit status 1 when any message was not answered AA (or CA).
#include <cstdio>

#include "adapters/common/mllp/mllp_client.h"
#include "adapters/hl7v2/register_hl7v2.h"
#include "gateway/cli/commands.h"
#include "gateway/cli/read_file.h"

namespace phrgate::cli {

int cmd_send(const std::vector<std::string>& args) {
  std::string host = "127.0.0.1";
  int port = 0;
  mllp::MllpClientOptions opts;
  std::vector<std::string> files;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--host" && i + 1 < args.size()) host = args[++i];
    else if (args[i] == "--port" && i + 1 < args.size()) port = std::atoi(args[++i].c_str());
    else if (args[i] == "--tls-ca" && i + 1 < args.size()) {
      mllp::MllpClientTlsOptions tls;
      tls.ca_file = args[++i];
      opts.tls = tls;
    } else files.push_back(args[i]);
  }
  if (port <= 0 || port > 65535 || files.empty()) {
    std::fputs("usage: phrgate send --port N [--host H] [--tls-ca FILE] FILE...\n", stderr);
    return 2;
  }
  int status = 0;
  try {
    mllp::MllpClient client(opts);
    client.connect(host, static_cast<uint16_t>(port));
    for (const auto& path : files) {
      std::string text;
      if (!read_whole_file(path, text)) {
        std::fprintf(stderr, "%s: cannot read file\n", path.c_str());
        status = 1;
        continue;
      }
      for (std::string_view msg : hl7v2::split_messages(text)) {
        std::string payload(msg);
        for (auto& c : payload)
          if (c == '\n') c = '\r';  // files often use LF; MLLP peers expect CR
        std::string ack = client.send(payload);
        auto msa = ack.find("MSA");
        std::string_view line = msa == std::string::npos ? std::string_view(ack) : std::string_view(ack).substr(msa);
        line = line.substr(0, line.find('\r'));
        std::printf("%s: %.*s\n", path.c_str(), static_cast<int>(line.size()), line.data());
        if (line.substr(0, 6) != "MSA|AA" && line.substr(0, 6) != "MSA|CA") status = 1;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "phrgate send: %s\n", e.what());
    return 1;
  }
  return status;
}

}  // namespace phrgate::cli
