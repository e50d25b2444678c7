#pragma once

#include <memory>
#include <utility>

#include "manifold/protocol/channel.hpp"

namespace manifold::io {

// Two connected channels in one process: what one end sends, the other receives, in order.
// For peers that live inside manifold (the exec tool server, `manifold call` driving a host
// session). close() on either end ends both directions; close_outbound() ends the peer's
// input once it has read what was sent. Thread: the io thread.
std::pair<std::shared_ptr<protocol::channel>, std::shared_ptr<protocol::channel>>
make_channel_pair();

}  // namespace manifold::io
