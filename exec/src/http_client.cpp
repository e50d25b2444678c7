#include "http_client.hpp"

namespace manifold::exec::detail {

namespace asio = boost::asio;

asio::awaitable<http_response> send_request(asio::any_io_executor executor, http_request request,
                                            std::shared_ptr<process_control> control) {
  std::shared_ptr<io::http_cancel> hook;
  if (control) {
    hook = std::make_shared<io::http_cancel>();
    control->cancel = [hook] {
      if (hook->cancel) hook->cancel();
    };
  }
  request.user_agent = "manifold-exec";
  auto out = co_await io::send_request(std::move(executor), std::move(request), hook);
  if (control) control->cancel = nullptr;
  co_return out;
}

}  // namespace manifold::exec::detail
