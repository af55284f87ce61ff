// The Boost.Asio pieces zcfs uses, under short names. C++20 coroutines throughout.
#pragma once

#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

namespace zcfs {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
template <typename T = void>
using Task = asio::awaitable<T>;
using Strand = asio::strand<asio::any_io_executor>;
}  // namespace zcfs
