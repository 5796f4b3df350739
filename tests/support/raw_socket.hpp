// A raw TCP connection to a loopback HOST:PORT, for tests that send bytes no HTTP client would.
#pragma once

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <netinet/in.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace debros::test {

/// A socket listening on 127.0.0.1 at a free port (backlog 16), for tests that play a server.
struct loopback_listener {
  int fd = -1;
  uint16_t port = 0;
};

inline loopback_listener listen_on_loopback() {
  loopback_listener l;
  l.fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(l.fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(l.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(l.fd, 16) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(getsockname(l.fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  l.port = ntohs(addr.sin_port);
  return l;
}

class raw_socket {
public:
  /// Connects to "HOST:PORT" (IPv4). Reads give up after 5 s of silence. A `receive_buffer`
  /// other than 0 sets the socket's receive buffer (SO_RCVBUF), which bounds what the server
  /// can send before the test reads. A `source` address (e.g. "127.0.0.2") binds the client
  /// end to it first, so a test can connect as another client address.
  explicit raw_socket(const std::string& hostport, int receive_buffer = 0,
                      const std::string& source = {}) {
    auto colon = hostport.rfind(':');
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1))));
    inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &addr.sin_addr);
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (receive_buffer != 0)
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    if (!source.empty()) {
      sockaddr_in from{};
      from.sin_family = AF_INET;
      inet_pton(AF_INET, source.c_str(), &from.sin_addr);
      REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
    }
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~raw_socket() { close(fd_); }

  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  void send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0)
        return; // the server may close early; that is an acceptable answer to garbage
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  /// Appends what arrives to `out` until it holds at least `size` bytes, the server closes, or
  /// 5 s pass without data. Returns whether `out` reached `size`.
  bool read_at_least(std::string& out, size_t size) {
    char buf[65536];
    while (out.size() < size) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        return false;
      out.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  /// Appends what arrives to `out` until it contains `needle` (or as read_at_least gives up).
  bool read_until(std::string& out, std::string_view needle) {
    char buf[4096];
    while (out.find(needle) == std::string::npos) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        return false;
      out.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  /// Appends what arrives to `out` until the server closes (true: end of stream or reset) or
  /// 5 s pass without data (false).
  bool read_until_closed(std::string& out) {
    char buf[65536];
    for (;;) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0)
        return true;
      if (n < 0)
        return errno == ECONNRESET;
      out.append(buf, static_cast<size_t>(n));
    }
  }

  /// How a stream ended (read_to_end).
  enum class ending { end_of_stream, reset, silence };

  /// Appends what arrives to `out` until the server closes in order (FIN), resets the
  /// connection, or 5 s pass without data; says which.
  ending read_to_end(std::string& out) {
    char buf[65536];
    for (;;) {
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n == 0)
        return ending::end_of_stream;
      if (n < 0)
        return errno == ECONNRESET ? ending::reset : ending::silence;
      out.append(buf, static_cast<size_t>(n));
    }
  }

  /// Whether the server has closed its side (or reset) by now, without waiting. Data that
  /// arrived first is left unread.
  bool closed_by_peer() {
    char c;
    auto n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  /// Everything the server sends until it closes or goes quiet for 5 s.
  std::string read_all() {
    std::string out;
    read_at_least(out, std::string::npos);
    return out;
  }

private:
  int fd_ = -1;
};

} // namespace debros::test
