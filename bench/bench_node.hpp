// A debros-node started for a benchmark: free loopback ports, its ready line read, its admin
// token loaded, stopped with SIGTERM. Shared by the HTTP and hostile-client benchmarks.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace debros::bench {

/// Prints "PROGRAM: what" to stderr and exits 1. `program` is set by each benchmark's main.
inline const char* program = "debros-bench";
[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program, what.c_str());
  std::exit(1);
}

/// The node under test.
struct node {
  pid_t pid = -1;
  std::string http;
  std::string token;

  node(const std::string& bin, const std::string& dir) {
    int fds[2];
    if (pipe(fds) != 0)
      die("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, (dir + ".log").c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<std::string> argv{bin,           "--data-dir", dir,          "--http",
                                  "127.0.0.1:0", "--cluster",  "127.0.0.1:0"};
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid, bin.c_str(), &fa, nullptr, args.data(), environ) != 0)
      die("cannot start " + bin);
    close(fds[1]);
    std::string line;
    char c;
    pollfd p{fds[0], POLLIN, 0};
    while (poll(&p, 1, 20000) > 0 && ::read(fds[0], &c, 1) == 1 && c != '\n')
      line += c;
    close(fds[0]);
    auto at = line.find("http=");
    if (at == std::string::npos)
      die("no ready line from debros-node (see " + dir + ".log)");
    http = line.substr(at + 5, line.find(' ', at) - at - 5);
    if (FILE* f = std::fopen((dir + "/admin.token").c_str(), "r")) {
      char buf[128] = {};
      if (std::fgets(buf, sizeof buf, f))
        token = buf;
      std::fclose(f);
    }
    while (!token.empty() && token.back() == '\n')
      token.pop_back();
  }

  /// The node's peak resident memory (VmHWM), MiB.
  double peak_rss_mb() const {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
    std::string l;
    while (std::getline(in, l))
      if (l.rfind("VmHWM:", 0) == 0)
        return std::strtod(l.c_str() + 6, nullptr) / 1024.0;
    return 0;
  }

  ~node() {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
};

} // namespace debros::bench
