// MetaService over real loopback TCP inside the test process: typed calls through RpcChannel and
// CallPb, errors travelling as reply statuses, and a malformed body answered with kProtocolError.
#include "zcfs/meta/meta_service.h"

#include <gtest/gtest.h>

#include "operator_env.h"
#include "zcfs/proto/io_threads.h"
#include "zcfs/proto/methods.h"
#include "zcfs/proto/pb_call.h"

namespace zcfs::meta {
namespace {

using testing::MemoryEnv;
using testing::OperatorEnv;

class MetaServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    service_.RegisterOn(server_);
    auto bound = server_.Listen(HostPort{"127.0.0.1", 0});
    ASSERT_TRUE(bound.ok()) << bound.status().ToString();
    auto channel = run_blocking(
        client_io_.executor(),
        RpcChannel::Connect(client_io_.executor(), HostPort{"127.0.0.1", bound->port()}, std::chrono::seconds(10)));
    ASSERT_TRUE(channel.ok()) << channel.status().ToString();
    channel_ = *channel;
  }
  void TearDown() override {
    if (channel_) channel_->Close();
    server_.Stop();
    server_io_.Stop();
    client_io_.Stop();
  }

  template <typename Reply, typename Request>
  Result<Reply> Call(uint16_t method, const Request& request) {
    return run_blocking(client_io_.executor(), CallPb<Reply>(*channel_, method, request));
  }

  OperatorEnv<MemoryEnv> env_;
  MetaService service_{env_.op()};
  IoThreads server_io_{1};
  IoThreads client_io_{1};
  RpcServer server_{server_io_.context()};
  std::shared_ptr<RpcChannel> channel_;
};

TEST_F(MetaServiceTest, NamespaceCallsRoundTrip) {
  pb::GetAttrRequest get;
  get.set_ino(kRootIno);
  auto root = Call<pb::AttrReply>(method::kGetAttr, get);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->attr().type(), pb::FILE_TYPE_DIRECTORY);

  pb::MkdirRequest mkdir;
  mkdir.set_parent(kRootIno);
  mkdir.set_name("d");
  mkdir.set_mode(0700);
  mkdir.mutable_cred()->set_uid(0);
  auto dir = Call<pb::AttrReply>(method::kMkdir, mkdir);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(dir->attr().uid(), 0u);

  pb::LookupRequest lookup;
  lookup.set_parent(kRootIno);
  lookup.set_name("d");
  auto found = Call<pb::AttrReply>(method::kLookup, lookup);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->attr().ino(), dir->attr().ino());

  lookup.set_name("missing");
  auto missing = Call<pb::AttrReply>(method::kLookup, lookup);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  pb::ReaddirRequest readdir;
  readdir.set_ino(kRootIno);
  auto listing = Call<pb::ReaddirReply>(method::kReaddir, readdir);
  ASSERT_TRUE(listing.ok());
  ASSERT_EQ(listing->entries_size(), 1);
  EXPECT_EQ(listing->entries(0).name(), "d");
  EXPECT_TRUE(listing->eof());

  pb::CreateRequest create;
  create.set_parent(kRootIno);
  create.set_name("f");
  auto no_targets = Call<pb::AttrReply>(method::kCreate, create);
  EXPECT_EQ(no_targets.status().code(), Code::kUnavailable);
}

TEST_F(MetaServiceTest, ClusterCallsAndFileLifecycle) {
  pb::RegisterNodeRequest reg;
  reg.set_address("127.0.0.1:9100");
  reg.add_targets()->set_path("/t0");
  reg.add_targets()->set_path("/t1");
  auto node = Call<pb::RegisterNodeReply>(method::kRegisterNode, reg);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->node_id(), 1u);
  EXPECT_EQ(node->target_ids_size(), 2);
  auto routing = Call<pb::RoutingTable>(method::kGetRouting, pb::GetRoutingRequest());
  ASSERT_TRUE(routing.ok());
  ASSERT_EQ(routing->nodes_size(), 1);
  EXPECT_EQ(routing->nodes(0).address(), "127.0.0.1:9100");
  EXPECT_EQ(routing->targets_size(), 2);

  pb::CreateRequest create;
  create.set_parent(kRootIno);
  create.set_name("f");
  create.set_mode(0644);
  create.set_exclusive(true);
  create.set_chunk_size(1 << 20);
  auto file = Call<pb::AttrReply>(method::kCreate, create);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(file->attr().layout().chunk_size(), 1u << 20);
  EXPECT_EQ(file->attr().layout().chains_size(), 2);  // one node: a chain per target

  pb::ExtendLengthRequest extend;
  extend.set_ino(file->attr().ino());
  extend.set_length(123);
  auto extended = Call<pb::AttrReply>(method::kExtendLength, extend);
  ASSERT_TRUE(extended.ok());
  EXPECT_EQ(extended->attr().size(), 123u);

  pb::SetAttrRequest set;
  set.set_ino(file->attr().ino());
  set.set_valid(setattr::kSize);
  set.set_size(7);
  auto truncated = Call<pb::AttrReply>(method::kSetAttr, set);
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(truncated->attr().size(), 7u);
}

TEST_F(MetaServiceTest, MalformedBodyIsAProtocolErrorReply) {
  // 0x0a = field 1, length-delimited, with a length running past the end of the body.
  auto reply = run_blocking(client_io_.executor(),
                            channel_->Call(method::kLookup, std::string("\x0a\x7f\x01", 3), CallOptions{}));
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), Code::kProtocolError) << reply.status().ToString();

  auto unknown = run_blocking(client_io_.executor(), channel_->Call(199, "", CallOptions{}));
  EXPECT_EQ(unknown.status().code(), Code::kNotSupported);

  // The connection and the server survive.
  pb::GetAttrRequest get;
  get.set_ino(kRootIno);
  EXPECT_TRUE((Call<pb::AttrReply>(method::kGetAttr, get)).ok());
}

}  // namespace
}  // namespace zcfs::meta
