#include "zcfs/common/config.h"

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

namespace zcfs {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool valid_key(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  }
  return true;
}

Status line_error(int line, std::string_view what) {
  return Error(Code::kInvalidArgument, "config line " + std::to_string(line) + ": " + std::string(what));
}

// Decodes a quoted string with \" \\ \n \t escapes; `text` starts at the opening quote.
// On success sets *rest to what follows the closing quote.
Result<std::string> parse_quoted(std::string_view text, std::string_view* rest) {
  std::string out;
  for (size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      *rest = text.substr(i + 1);
      return out;
    }
    if (c == '\\') {
      if (++i >= text.size()) break;
      switch (text[i]) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        default: return Error(Code::kInvalidArgument, "unknown escape in string");
      }
      continue;
    }
    out += c;
  }
  return Error(Code::kInvalidArgument, "unterminated string");
}

// Parses the value part of `key = value`, dropping a trailing comment.
Result<std::string> parse_value(std::string_view text) {
  text = trim(text);
  if (text.empty()) return Error(Code::kInvalidArgument, "missing value");
  if (text.front() == '"') {
    std::string_view rest;
    ASSIGN_OR_RETURN(std::string value, parse_quoted(text, &rest));
    rest = trim(rest);
    if (!rest.empty() && rest.front() != '#') return Error(Code::kInvalidArgument, "text after string value");
    return value;
  }
  size_t hash = text.find('#');
  if (hash != std::string_view::npos) text = trim(text.substr(0, hash));
  if (text.empty()) return Error(Code::kInvalidArgument, "missing value");
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '=') {
      return Error(Code::kInvalidArgument, "bare value must be a number, boolean or size (quote strings)");
    }
  }
  return std::string(text);
}

}  // namespace

Result<Config> Config::Parse(std::string_view text) {
  Config config;
  std::string section;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      if (close == std::string_view::npos) return line_error(line_no, "unterminated section header");
      std::string_view after = trim(line.substr(close + 1));
      if (!after.empty() && after.front() != '#') return line_error(line_no, "text after section header");
      std::string_view name = trim(line.substr(1, close - 1));
      if (!valid_key(name)) return line_error(line_no, "bad section name");
      section = std::string(name);
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) return line_error(line_no, "expected key = value");
    std::string_view key = trim(line.substr(0, eq));
    if (!valid_key(key)) return line_error(line_no, "bad key '" + std::string(key) + "'");
    auto value = parse_value(line.substr(eq + 1));
    if (!value.ok()) return line_error(line_no, value.status().message());
    config.Set(section.empty() ? std::string(key) : section + "." + std::string(key), std::move(value).value());
  }
  return config;
}

Result<Config> Config::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::FromErrno(errno, "config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = Parse(ss.str());
  if (!parsed.ok()) return Status(parsed.status()).Prepend(path);
  return parsed;
}

void Config::Merge(const Config& other) {
  for (const auto& [k, v] : other.values_) values_[k] = v;
}

Status Config::ApplyArgs(int argc, const char* const* argv, std::vector<std::string>* positional) {
  std::vector<std::pair<std::string, std::string>> overrides;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, 2) != "--") {
      if (positional == nullptr) return Error(Code::kInvalidArgument, "unexpected argument '" + std::string(arg) + "'");
      positional->emplace_back(arg);
      continue;
    }
    arg.remove_prefix(2);
    size_t eq = arg.find('=');
    std::string key(arg.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "true" : std::string(arg.substr(eq + 1));
    if (!valid_key(key)) return Error(Code::kInvalidArgument, "bad flag '--" + std::string(arg) + "'");
    if (key == "config") {
      ASSIGN_OR_RETURN(Config file, LoadFile(value));
      Merge(file);
    } else {
      overrides.emplace_back(std::move(key), std::move(value));
    }
  }
  for (auto& [k, v] : overrides) values_[k] = std::move(v);
  return Status::Ok();
}

std::string Config::GetString(const std::string& key, std::string_view fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? std::string(fallback) : it->second;
}

Result<int64_t> Config::GetInt(const std::string& key, int64_t fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  int64_t v = 0;
  const std::string& s = it->second;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return Error(Code::kInvalidArgument, key + ": expected an integer, got '" + s + "'");
  }
  return v;
}

Result<uint64_t> Config::GetBytes(const std::string& key, uint64_t fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  auto v = parse_bytes(it->second);
  if (!v.ok()) return Status(v.status()).Prepend(key);
  return v;
}

Result<bool> Config::GetBool(const std::string& key, bool fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  if (it->second == "true" || it->second == "1") return true;
  if (it->second == "false" || it->second == "0") return false;
  return Error(Code::kInvalidArgument, key + ": expected true or false, got '" + it->second + "'");
}

Result<uint64_t> parse_bytes(std::string_view text) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr == text.data()) {
    return Error(Code::kInvalidArgument, "expected a size, got '" + std::string(text) + "'");
  }
  std::string_view suffix(ptr, text.data() + text.size() - ptr);
  uint64_t mult = 1;
  if (suffix.empty()) mult = 1;
  else if (suffix == "K" || suffix == "KiB") mult = 1ull << 10;
  else if (suffix == "M" || suffix == "MiB") mult = 1ull << 20;
  else if (suffix == "G" || suffix == "GiB") mult = 1ull << 30;
  else return Error(Code::kInvalidArgument, "unknown size suffix '" + std::string(suffix) + "'");
  if (v > UINT64_MAX / mult) return Error(Code::kOutOfRange, "size '" + std::string(text) + "' overflows");
  return v * mult;
}

}  // namespace zcfs
