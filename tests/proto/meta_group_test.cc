// The meta group rules shared by clients and storage servers (proto meta_group.h): address lists, the
// epoch stamped into replies, and the rotation that moves on from a member that failed or answered
// for an older epoch than one already seen.
#include "zcfs/proto/meta_group.h"

#include <gtest/gtest.h>

#include "zcfs.pb.h"

namespace zcfs {
namespace {

TEST(MetaGroupRulesTest, AddressLists) {
  auto three = parse_meta_servers("a:1,b:2,,c:3");
  ASSERT_TRUE(three.ok());
  ASSERT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[2].ToString(), "c:3");
  EXPECT_FALSE(parse_meta_servers("").ok());
  EXPECT_FALSE(parse_meta_servers("a:1,nonsense").ok());
}

TEST(MetaGroupRulesTest, TheEpochRidesInAnyReplyAndTheLastOneCounts) {
  pb::AttrReply reply;
  reply.mutable_attr()->set_ino(42);
  std::string body = reply.SerializeAsString();
  EXPECT_EQ(reply_epoch(body), 0u) << "an unstamped reply";
  body += epoch_trailer(1234567);
  EXPECT_EQ(reply_epoch(body), 1234567u);
  pb::AttrReply parsed;
  ASSERT_TRUE(parsed.ParseFromString(body)) << "the stamp is an unknown field to the reply type";
  EXPECT_EQ(parsed.attr().ino(), 42u);
  EXPECT_EQ(reply_epoch(body + epoch_trailer(9)), 9u);
  EXPECT_EQ(reply_epoch(pb::EmptyReply().SerializeAsString() + epoch_trailer(5)), 5u);
  EXPECT_EQ(reply_epoch("\xff\xff\xff"), 0u) << "garbage";
}

TEST(MetaGroupRulesTest, AReplyOfAnOlderEpochIsRefusedAndTheRotationMovesOn) {
  MetaRotation rotation(*parse_meta_servers("a:1,b:2,c:3"));
  const HostPort a = rotation.servers()[0], b = rotation.servers()[1];
  EXPECT_TRUE(rotation.AcceptReply(a, "").ok()) << "a server without replication stamps nothing";
  EXPECT_TRUE(rotation.AcceptReply(a, epoch_trailer(10)).ok());
  rotation.Failed(a);
  EXPECT_EQ(rotation.current().ToString(), "b:2");
  EXPECT_TRUE(rotation.AcceptReply(b, epoch_trailer(20)).ok()) << "a newer primary";
  Status stale = rotation.AcceptReply(b, epoch_trailer(10));
  EXPECT_EQ(stale.code(), Code::kUnavailable);
  EXPECT_NE(stale.message().find("deposed"), std::string::npos) << stale.ToString();
  EXPECT_EQ(rotation.current().ToString(), "c:3") << "moved on from the stale member";
  EXPECT_TRUE(rotation.AcceptReply(b, epoch_trailer(20)).ok());
}

}  // namespace
}  // namespace zcfs
