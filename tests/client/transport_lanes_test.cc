// Connection lanes of the TCP transport (ClientOptions::connections_per_server): each lane to a peer
// is its own connection, reused by later calls; the one-argument Channel is lane 0.
#include <gtest/gtest.h>

#include <thread>

#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/rpc_server.h"
#include "zcfs/proto/tcp_transport.h"

namespace zcfs {
namespace {

using namespace std::chrono_literals;

TEST(TransportLanesTest, EachLaneIsItsOwnConnectionAndIsReused) {
  IoThreads server_io(1);
  IoThreads client_io(1);
  RpcServer server(server_io.context());
  auto endpoint = server.Listen({"127.0.0.1", 0});
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().ToString();
  std::string peer = "127.0.0.1:" + std::to_string(endpoint->port());
  TcpTransport transport(client_io.executor());
  auto lane = [&](size_t index) { return run_blocking(client_io.executor(), transport.Channel(peer, index)); };

  auto first = lane(0);
  auto second = lane(1);
  auto first_again = lane(0);
  auto default_lane = run_blocking(client_io.executor(), transport.Channel(peer));
  ASSERT_TRUE(first.ok() && second.ok() && first_again.ok() && default_lane.ok());
  EXPECT_NE(first->get(), second->get());
  EXPECT_EQ(first->get(), first_again->get());
  EXPECT_EQ(first->get(), default_lane->get());

  // The server sees two connections (accepts are asynchronous: wait for them, bounded).
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (server.connection_count() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(server.connection_count(), 2u);

  transport.CloseAll();
  server.Stop();
  client_io.Stop();
  server_io.Stop();
}

}  // namespace
}  // namespace zcfs
