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

// Mutations carrying an id, as the client library sends them: a resend (retry set) of one that
// committed answers as the first try did instead of failing or running again; a resend of one that
// never committed runs; the same name without an id, or under another id, still conflicts.
TEST_F(MetaServiceTest, AResentMutationIsDoneOnce) {
  uint64_t seq = 0;
  auto numbered = [&seq](auto request, bool retry = false, uint64_t reuse = 0) {
    request.mutable_mutation_id()->set_client(77);
    request.mutable_mutation_id()->set_seq(reuse != 0 ? reuse : ++seq);
    request.mutable_mutation_id()->set_retry(retry);
    return request;
  };
  auto lookup = [&](const std::string& name) {
    pb::LookupRequest r;
    r.set_parent(kRootIno);
    r.set_name(name);
    return Call<pb::AttrReply>(method::kLookup, r);
  };
  pb::MkdirRequest mkdir;
  mkdir.set_parent(kRootIno);
  mkdir.set_name("d");
  mkdir.set_mode(0755);
  const pb::MkdirRequest first = numbered(mkdir);
  auto made = Call<pb::AttrReply>(method::kMkdir, first);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  pb::MkdirRequest resend = first;
  resend.mutable_mutation_id()->set_retry(true);
  auto again = Call<pb::AttrReply>(method::kMkdir, resend);
  ASSERT_TRUE(again.ok()) << "a resend of a committed mkdir: " << again.status().ToString();
  EXPECT_EQ(again->attr().ino(), made->attr().ino());
  EXPECT_EQ(Call<pb::AttrReply>(method::kMkdir, numbered(mkdir)).status().code(), Code::kAlreadyExists)
      << "another mutation on the same name";
  EXPECT_EQ(Call<pb::AttrReply>(method::kMkdir, mkdir).status().code(), Code::kAlreadyExists) << "no id";
  mkdir.set_name("e");
  EXPECT_TRUE(Call<pb::AttrReply>(method::kMkdir, numbered(mkdir, /*retry=*/true)).ok())
      << "a resend whose first try never arrived runs";

  pb::SymlinkRequest symlink;
  symlink.set_parent(kRootIno);
  symlink.set_name("s");
  symlink.set_target("/d");
  const pb::SymlinkRequest made_link = numbered(symlink);
  auto link_attr = Call<pb::AttrReply>(method::kSymlink, made_link);
  ASSERT_TRUE(link_attr.ok());
  EXPECT_EQ(Call<pb::AttrReply>(method::kSymlink, numbered(symlink, true, made_link.mutation_id().seq()))->attr().ino(),
            link_attr->attr().ino());
  pb::LinkRequest hard;
  hard.set_ino(link_attr->attr().ino());
  hard.set_new_parent(kRootIno);
  hard.set_new_name("s2");
  const pb::LinkRequest linked = numbered(hard);
  ASSERT_TRUE(Call<pb::AttrReply>(method::kLink, linked).ok());
  auto link_again = Call<pb::AttrReply>(method::kLink, numbered(hard, true, linked.mutation_id().seq()));
  ASSERT_TRUE(link_again.ok()) << link_again.status().ToString();
  EXPECT_EQ(link_again->attr().nlink(), 2u) << "linked once";

  // A resent rename does not move a directory made under the old name since.
  pb::RenameRequest rename;
  rename.set_parent(kRootIno);
  rename.set_name("d");
  rename.set_new_parent(kRootIno);
  rename.set_new_name("d2");
  const pb::RenameRequest renamed = numbered(rename);
  ASSERT_TRUE(Call<pb::EmptyReply>(method::kRename, renamed).ok());
  mkdir.set_name("d");
  auto new_d = Call<pb::AttrReply>(method::kMkdir, numbered(mkdir));
  ASSERT_TRUE(new_d.ok());
  EXPECT_TRUE(Call<pb::EmptyReply>(method::kRename, numbered(rename, true, renamed.mutation_id().seq())).ok());
  EXPECT_EQ(lookup("d")->attr().ino(), new_d->attr().ino()) << "the new d stayed";
  EXPECT_EQ(lookup("d2")->attr().ino(), made->attr().ino());

  pb::RemoveRequest remove;
  remove.set_parent(kRootIno);
  remove.set_name("s2");
  const pb::RemoveRequest unlinked = numbered(remove);
  ASSERT_TRUE(Call<pb::EmptyReply>(method::kUnlink, unlinked).ok());
  EXPECT_TRUE(Call<pb::EmptyReply>(method::kUnlink, numbered(remove, true, unlinked.mutation_id().seq())).ok())
      << "a resent unlink of a committed one is not ENOENT";
  EXPECT_EQ(Call<pb::EmptyReply>(method::kUnlink, numbered(remove)).status().code(), Code::kNotFound);
  remove.set_name("e");
  const pb::RemoveRequest removed_dir = numbered(remove);
  ASSERT_TRUE(Call<pb::EmptyReply>(method::kRmdir, removed_dir).ok());
  EXPECT_TRUE(Call<pb::EmptyReply>(method::kRmdir, numbered(remove, true, removed_dir.mutation_id().seq())).ok());
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
