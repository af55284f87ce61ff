#include "zcfs/common/status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace zcfs {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.to_errno(), 0);
  EXPECT_EQ(s.ToString(), "kOk");
}

TEST(StatusTest, WireNumbersAreStable) {
  // These numbers travel on the wire; changing one breaks every deployed peer.
  EXPECT_EQ(static_cast<uint16_t>(Code::kNotFound), 2);
  EXPECT_EQ(static_cast<uint16_t>(Code::kChecksumMismatch), 11);
  EXPECT_EQ(static_cast<uint16_t>(Code::kStaleRouting), 20);
  for (uint16_t n = 0; n <= 25; ++n) EXPECT_EQ(static_cast<uint16_t>(code_from_wire(n)), n);
  EXPECT_EQ(code_from_wire(60000), Code::kProtocolError);
}

TEST(StatusTest, ErrnoMapping) {
  EXPECT_EQ(to_errno(Code::kNotFound), ENOENT);
  EXPECT_EQ(to_errno(Code::kNotEmpty), ENOTEMPTY);
  EXPECT_EQ(to_errno(Code::kChecksumMismatch), EIO);
  EXPECT_EQ(to_errno(static_cast<Code>(999)), EIO);
  EXPECT_EQ(code_from_errno(ENOSPC), Code::kNoSpace);
  EXPECT_EQ(code_from_errno(ECONNREFUSED), Code::kUnavailable);
  Status s = Status::FromErrno(ENOENT, "open /x");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_NE(s.message().find("open /x"), std::string::npos);
  EXPECT_EQ(code_name(static_cast<Code>(999)), "kUnknown(999)");
}

TEST(StatusTest, PrependAddsContextToErrorsOnly) {
  Status err = Error(Code::kIoError, "disk");
  err.Prepend("read chunk 3");
  EXPECT_EQ(err.message(), "read chunk 3: disk");
  Status ok;
  ok.Prepend("ignored");
  EXPECT_EQ(ok.message(), "");
}

Result<int> half(int v) {
  if (v % 2) return Error(Code::kInvalidArgument, "odd");
  return v / 2;
}

Result<int> quarter(int v) {
  ASSIGN_OR_RETURN(int h, half(v));
  ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

Status check_even(int v) {
  RETURN_IF_ERROR(half(v));
  return Status::Ok();
}

TEST(ResultTest, PropagationMacros) {
  EXPECT_EQ(*quarter(8), 2);
  EXPECT_EQ(quarter(6).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(check_even(4).ok());
  EXPECT_FALSE(check_even(3).ok());
}

// A message past the small-string buffer, so that a Status left dangling would show garbage.
Result<int> refuse(int v) {
  if (v < 0) return Error(Code::kInvalidArgument, "--value must not be negative, it was " + std::to_string(v));
  return v;
}

Status check_status_of_a_temporary(int v) {
  RETURN_IF_ERROR(refuse(v).status());  // the Result is a temporary: its status must be copied out
  return Status::Ok();
}

TEST(ResultTest, StatusOfATemporaryResultOutlivesIt) {
  Status s = check_status_of_a_temporary(-7);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "--value must not be negative, it was -7");
  EXPECT_TRUE(check_status_of_a_temporary(1).ok());
  Result<int> named = refuse(-1);
  const Status& borrowed = named.status();  // of a named Result: a reference, no copy
  EXPECT_EQ(&borrowed, &named.status());
}

TEST(ResultTest, OkStatusIsNotAValue) {
  Result<int> r = Status::Ok();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInternal);
  Result<int> unset;
  EXPECT_FALSE(unset.ok());
}

}  // namespace
}  // namespace zcfs
