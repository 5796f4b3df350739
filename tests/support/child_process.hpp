// Starts a helper program with its stdout on a pipe, reads it line by line, kills it.
#pragma once

#include <csignal>
#include <cstdio>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace debros::test {

class child_process {
public:
  /// Starts argv[0] (a path) with this process's environment plus `extra_env` ("NAME=value"
  /// entries, which take precedence over inherited ones of the same name).
  explicit child_process(std::vector<std::string> argv, std::vector<std::string> extra_env = {}) {
    int fds[2];
    if (pipe(fds) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<char*> env;
    for (auto& e : extra_env)
      env.push_back(e.data());
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view entry{*e};
      auto eq = entry.find('=');
      auto name = entry.substr(0, eq == std::string_view::npos ? entry.size() : eq + 1);
      bool overridden = false;
      for (auto& x : extra_env)
        overridden = overridden || std::string_view{x}.substr(0, name.size()) == name;
      if (!overridden)
        env.push_back(*e);
    }
    env.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(fds[0]);
      throw std::runtime_error("cannot start " + argv[0]);
    }
    out_ = fdopen(fds[0], "r");
  }

  ~child_process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      wait();
    }
    if (out_ != nullptr)
      fclose(out_);
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// The next line of the child's stdout without the newline; false at end of output.
  bool read_line(std::string& line) {
    line.clear();
    int c;
    while ((c = fgetc(out_)) != EOF) {
      if (c == '\n')
        return true;
      line += static_cast<char>(c);
    }
    return !line.empty();
  }

  void kill_now(int sig = SIGKILL) {
    if (pid_ > 0)
      kill(pid_, sig);
  }

  /// Waits for the child and returns its wait status.
  int wait() {
    int status = 0;
    if (pid_ > 0) {
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    return status;
  }

private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

} // namespace debros::test
