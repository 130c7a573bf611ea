// Reads a whole file for the CLI subcommands (convert, send). Returns false when the file
// cannot be opened or read; the caller prints the one-line error.
#pragma once

#include <cstdio>
#include <string>

namespace phrgate::cli {

inline bool read_whole_file(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  out.clear();
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

}  // namespace phrgate::cli
