#include "zcfs/common/address.h"

#include <charconv>

namespace zcfs {

Result<HostPort> parse_host_port(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Error(Code::kInvalidArgument, "address '" + std::string(text) + "' is not host:port");
  }
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return Error(Code::kInvalidArgument, "bad IPv6 address in '" + std::string(text) + "'");
    host = host.substr(1, host.size() - 2);
  }
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535) {
    return Error(Code::kInvalidArgument, "bad port in address '" + std::string(text) + "'");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

}  // namespace zcfs
