// TempDir: a fresh directory under /tmp (mkdtemp), removed with everything in it when the
// object is destroyed. For tests that need real files. Never points outside /tmp.
#pragma once

#include <string>

namespace phrgate::testing {

class TempDir {
 public:
  // Creates /tmp/<prefix>XXXXXX; throws std::runtime_error if that fails.
  explicit TempDir(const std::string& prefix = "phrgate-test-");
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  void remove() noexcept;
  std::string path_;
};

}  // namespace phrgate::testing
