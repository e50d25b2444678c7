#include "server_parts.hpp"

namespace manifold::exec::detail {

boost::asio::awaitable<json> run_http_tool(const compiled_tool& tool, const json& arguments, call_context& ctx) {
  (void)tool;
  (void)arguments;
  (void)ctx;
  co_return failed("http tools are not available yet");
}

}  // namespace manifold::exec::detail
