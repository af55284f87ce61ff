// What the `zcfs` subcommands share: options, error reporting and path helpers.
#pragma once

#include <string>
#include <utility>

#include "zcfs/client/client.h"

namespace zcfs {

struct CliOptions {
  int jobs = 4;            // put/get: files (and chunks of large files) copied at once
  bool progress = false;   // put/get: show the progress bar (a terminal, or --progress)
  bool long_list = false;  // ls -l
  bool parents = false;    // mkdir -p
  bool recursive = false;  // rm -r
};

// Prints "zcfs: <what>: <cause> (<detail>)" to stderr, e.g. "zcfs: get /a/b: no such file or
// directory (no entry 'b' in directory 5)", and returns the exit code 1.
int fail(const std::string& what, const Status& status);

// "dir/name", with exactly one slash between them.
std::string join_path(const std::string& dir, const std::string& name);
// The parent and the last component of a zcfs path: "/a/b/" -> {"/a", "b"}, "/a" -> {"/", "a"}.
std::pair<std::string, std::string> parent_and_name(const std::string& path);

// The subcommands; each returns the process exit code.
int cmd_ls(Client& client, const std::string& path, const CliOptions& options);
int cmd_stat(Client& client, const std::string& path);
int cmd_mkdir(Client& client, const std::string& path, const CliOptions& options);
int cmd_rm(Client& client, const std::string& path, const CliOptions& options);
int cmd_mv(Client& client, const std::string& from, const std::string& to);
int cmd_put(Client& client, const std::string& local, const std::string& remote, const CliOptions& options);
int cmd_get(Client& client, const std::string& remote, const std::string& local, const CliOptions& options);
int cmd_df(Client& client);

}  // namespace zcfs
