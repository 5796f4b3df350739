// A debros-node process for end-to-end tests: started on free loopback ports with a temporary
// data directory, stopped with SIGTERM. Its stderr goes to DIR/node.log for diagnostics.
#pragma once

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "tests/support/temp_dir.hpp"

extern char** environ;

namespace debros::test {

class node_process {
public:
  /// Starts `DEBROS_NODE_BIN --data-dir DIR --http 127.0.0.1:0 --cluster 127.0.0.1:0 ARGS...`
  /// and waits (at most 20 s) for its ready line. A `launcher` (e.g. {"/usr/bin/prlimit",
  /// "--data=..."}) is run instead, with the node's command line after its own arguments; it
  /// must exec the node so that pid() is the node's.
  node_process(const std::string& data_dir, std::vector<std::string> args = {},
               std::vector<std::string> launcher = {})
      : data_dir_(data_dir), args_(std::move(args)), launcher_(std::move(launcher)) {
    start();
  }

  ~node_process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0)
      close(out_);
  }

  node_process(const node_process&) = delete;
  node_process& operator=(const node_process&) = delete;

  /// "http://127.0.0.1:PORT"
  std::string url() const { return "http://" + http_; }
  const std::string& http() const { return http_; }
  const std::string& cluster() const { return cluster_; }
  const std::string& node_id() const { return node_id_; }
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return pid_; }

  /// The admin token the node wrote on first start.
  std::string admin_token() const {
    std::string t;
    if (FILE* f = std::fopen((data_dir_ + "/admin.token").c_str(), "r")) {
      char buf[256];
      if (std::fgets(buf, sizeof buf, f))
        t = buf;
      std::fclose(f);
    }
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r'))
      t.pop_back();
    return t;
  }

  /// Sends `sig` and waits (at most 30 s) for the exit; returns the wait status.
  int stop(int sig = SIGTERM) {
    kill(pid_, sig);
    int status = 0;
    for (int i = 0; i < 3000; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      usleep(10000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    throw std::runtime_error("debros-node did not stop within 30 s");
  }

  /// Starts again on the same data directory (new ports).
  void restart() {
    if (pid_ > 0)
      stop();
    if (out_ >= 0)
      close(out_);
    out_ = -1;
    start();
  }

  std::string log() const {
    std::string out;
    if (FILE* f = std::fopen((data_dir_ + ".log").c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
      std::fclose(f);
    }
    return out;
  }

private:
  void start() {
    std::vector<std::string> argv{DEBROS_NODE_BIN, "--data-dir", data_dir_,    "--http",
                                  "127.0.0.1:0",   "--cluster",  "127.0.0.1:0"};
    argv.insert(argv.end(), args_.begin(), args_.end());
    argv.insert(argv.begin(), launcher_.begin(), launcher_.end());
    int fds[2];
    if (pipe(fds) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    auto log_path = data_dir_ + ".log";
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0)
      throw std::runtime_error("cannot start debros-node");
    out_ = fds[0];
    auto line = read_line(std::chrono::seconds(20));
    if (!line)
      throw std::runtime_error("debros-node printed no ready line; log:\n" + log());
    // "debros-node ready http=HOST:PORT cluster=HOST:PORT node=ID"
    auto field = [&](const std::string& key) {
      auto at = line->find(key + "=");
      if (at == std::string::npos)
        throw std::runtime_error("malformed ready line: " + *line);
      auto start = at + key.size() + 1;
      return line->substr(start, line->find(' ', start) - start);
    };
    http_ = field("http");
    cluster_ = field("cluster");
    node_id_ = field("node");
  }

  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0)
        continue;
      char c;
      auto n = ::read(out_, &c, 1);
      if (n <= 0)
        return std::nullopt;
      if (c == '\n')
        return line;
      line += c;
    }
    return std::nullopt;
  }

  std::string data_dir_;
  std::vector<std::string> args_;
  std::vector<std::string> launcher_;
  pid_t pid_ = -1;
  int out_ = -1;
  std::string http_;
  std::string cluster_;
  std::string node_id_;
};

} // namespace debros::test
