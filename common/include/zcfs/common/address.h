// Network addresses as "host:port" text, the form used in configs, the routing table and logs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "zcfs/common/status.h"

namespace zcfs {

struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

// Parses "127.0.0.1:9000", "localhost:0" or "[::1]:9000". The port must be 0..65535.
Result<HostPort> parse_host_port(std::string_view text);

}  // namespace zcfs
