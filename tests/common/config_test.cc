#include "zcfs/common/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

namespace zcfs {
namespace {

TEST(ConfigTest, ParsesSectionsValuesAndComments) {
  auto c = Config::Parse(R"(
# top comment
name = "meta one"   # trailing comment
threads = 4
[storage]
buffers = 32
direct = true
chunk = 4MiB
path = "/data/a \"b\""
)");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->GetString("name", ""), "meta one");
  EXPECT_EQ(*c->GetInt("threads", 0), 4);
  EXPECT_EQ(*c->GetInt("storage.buffers", 0), 32);
  EXPECT_TRUE(*c->GetBool("storage.direct", false));
  EXPECT_EQ(*c->GetBytes("storage.chunk", 0), 4u << 20);
  EXPECT_EQ(c->GetString("storage.path", ""), "/data/a \"b\"");
  EXPECT_EQ(*c->GetInt("missing", 7), 7);
}

TEST(ConfigTest, ErrorsNameTheLine) {
  auto c = Config::Parse("a = 1\nb 2\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("line 2"), std::string::npos);
  EXPECT_FALSE(Config::Parse("[unterminated\n").ok());
  EXPECT_FALSE(Config::Parse("k = \"open\n").ok());
  EXPECT_FALSE(Config::Parse("k = two words\n").ok());
  EXPECT_FALSE(Config::Parse("bad key = 1\n").ok());
  EXPECT_FALSE(Config::Parse("k =\n").ok());
}

TEST(ConfigTest, TypedGettersRejectWrongTypes) {
  auto c = Config::Parse("n = abc\nb = maybe\ns = 4XB\n");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->GetInt("n", 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(c->GetBool("b", false).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(c->GetBytes("s", 0).ok());
  EXPECT_FALSE(parse_bytes("99999999999999999999G").ok());
}

TEST(ConfigTest, CommandLineOverridesFile) {
  std::string path = ::testing::TempDir() + "/zcfs_config_test.toml";
  {
    std::ofstream f(path);
    f << "threads = 2\n[meta]\nchunk_size = 1MiB\n";
  }
  std::string config_flag = "--config=" + path;
  const char* argv[] = {"prog", "--threads=8", config_flag.c_str(), "pos", "--verbose"};
  Config c;
  std::vector<std::string> positional;
  ASSERT_TRUE(c.ApplyArgs(5, argv, &positional).ok());
  EXPECT_EQ(*c.GetInt("threads", 0), 8);  // flag wins although the file came later
  EXPECT_EQ(*c.GetBytes("meta.chunk_size", 0), 1u << 20);
  EXPECT_TRUE(*c.GetBool("verbose", false));
  EXPECT_EQ(positional, std::vector<std::string>{"pos"});
  const char* bad[] = {"prog", "--config=/nonexistent/zcfs.toml"};
  EXPECT_EQ(Config().ApplyArgs(2, bad, nullptr).code(), Code::kNotFound);
}

// Property: any input either parses or fails with kInvalidArgument; never crashes. Keys of a parse
// are always "section.key" made of valid characters.
TEST(ConfigTest, RandomInputNeverCrashes) {
  std::mt19937 rng(12345);
  const std::string alphabet = "ab=[]#\"\\ \n\t.1-_ZK";
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    size_t n = rng() % 64;
    for (size_t j = 0; j < n; ++j) text += alphabet[rng() % alphabet.size()];
    auto c = Config::Parse(text);
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), Code::kInvalidArgument) << text;
      continue;
    }
    for (const auto& [k, v] : c->values()) EXPECT_FALSE(k.empty()) << text;
  }
}

}  // namespace
}  // namespace zcfs
