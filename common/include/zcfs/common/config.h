// Configuration: a TOML subset (sections, `key = value` with strings, integers, booleans, comments)
// flattened to "section.key" names, plus command-line overrides `--section.key=value`.
//
// Precedence: built-in defaults < config file (--config=FILE) < command-line flags.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "zcfs/common/status.h"

namespace zcfs {

class Config {
 public:
  // Parses TOML-subset text. Errors name the line and what is wrong.
  static Result<Config> Parse(std::string_view text);
  static Result<Config> LoadFile(const std::string& path);

  // Reads argv[1..]: `--config=FILE` merges that file first, then every `--key=value` (or bare
  // `--flag`, meaning true) overrides. Arguments not starting with "--" go to `positional`.
  Status ApplyArgs(int argc, const char* const* argv, std::vector<std::string>* positional);

  void Set(std::string key, std::string value) { values_[std::move(key)] = std::move(value); }
  bool Has(const std::string& key) const { return values_.count(key) != 0; }
  std::string GetString(const std::string& key, std::string_view fallback) const;
  Result<int64_t> GetInt(const std::string& key, int64_t fallback) const;
  // Accepts sizes with a binary suffix: "4MiB", "64KiB", "1GiB", or a plain number of bytes.
  Result<uint64_t> GetBytes(const std::string& key, uint64_t fallback) const;
  Result<bool> GetBool(const std::string& key, bool fallback) const;
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  void Merge(const Config& other);
  std::map<std::string, std::string> values_;
};

// Parses "4096", "64KiB", "4MiB", "1GiB" (also K/M/G) into bytes.
Result<uint64_t> parse_bytes(std::string_view text);

}  // namespace zcfs
