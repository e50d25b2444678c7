#include "manifold/proxy/stdio_listener.hpp"

#include <unistd.h>

#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <stdexcept>
#include <string>

#include "manifold/io/pipe_channel.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;

std::shared_ptr<protocol::channel> open_stdio_link(asio::any_io_executor executor,
                                                   std::size_t max_message_bytes,
                                                   io::channel_limits limits) {
  // Duplicates, so that closing the link never closes fd 0/1 under someone else.
  asio::readable_pipe in(executor);
  asio::writable_pipe out(executor);
  boost::system::error_code ec;
  in.assign(::dup(STDIN_FILENO), ec);
  if (ec) throw std::runtime_error("stdin cannot be read asynchronously (use a pipe): " + ec.message());
  out.assign(::dup(STDOUT_FILENO), ec);
  if (ec) {
    throw std::runtime_error("stdout cannot be written asynchronously (use a pipe): " +
                             ec.message());
  }
  return io::make_pipe_channel(std::move(in), std::move(out), max_message_bytes, limits);
}

}  // namespace manifold::proxy
