#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/buffer_sequence_adapter.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/query.hpp>
#include <boost/version.hpp>

// Receiving from a TCP socket while the kernel says what is left (TCP_INQ), so that the reactor
// does not try the next read before the socket is readable again.
//
// Asio's epoll reactor starts every read by trying it ("speculatively") and waits for a readiness
// event only when the read finds nothing, unless the read before it reported the socket exhausted,
// which Asio's own receive does only at end of stream. A client with one request in flight thus
// cost two recvmsg per request, the second finding nothing (EAGAIN: a system call, ~1.2 µs here).
// With TCP_INQ set on the socket, recvmsg returns the bytes still queued after it in a control
// message (non-zero when only the end of stream is left, so a FIN that came with the last bytes
// is not waited for), and this receive reports an empty queue to the reactor as exhausted: the
// next read waits for the next event instead of trying. Nothing is lost in between: an event the
// reactor takes while no read is queued is recorded under the descriptor's lock, and the next read
// then tries at once. A socket without TCP_INQ (no control message) reads as Asio's receive does.
//
// This drives Asio's reactor through its detail interface, as Asio's own socket operations do,
// which no public interface allows; it is written against Boost 1.81 (Debian 12) and other
// versions fall back to the socket's own async_receive.
#if BOOST_VERSION == 108100 && defined(BOOST_ASIO_HAS_EPOLL) && \
    !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define KEYBRIDGE_INQ_RECEIVE 1
#else
#define KEYBRIDGE_INQ_RECEIVE 0
#endif

namespace keybridge::daemon::net {

// The queue length a receive's control message reported, or -1 when it carried none.
int reported_queue_length(const msghdr& message);

#if KEYBRIDGE_INQ_RECEIVE
namespace inq_detail {

namespace ad = boost::asio::detail;

// The reactor's side of the receive: one recvmsg, and whether it left the socket empty.
template <class Buffers>
class ReceiveOpBase : public ad::reactor_op {
  public:
    ReceiveOpBase(ad::socket_type socket, const Buffers& buffers, std::uint64_t* empty_reads,
                  func_type on_complete)
        : ad::reactor_op(boost::system::error_code(), &ReceiveOpBase::perform_receive, on_complete),
          socket_(socket),
          buffers_(buffers),
          empty_reads_(empty_reads) {}

  private:
    static status perform_receive(ad::reactor_op* base) {
        auto* op = static_cast<ReceiveOpBase*>(base);
        ad::buffer_sequence_adapter<boost::asio::mutable_buffer, Buffers> buffers(op->buffers_);
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        msghdr message{};
        message.msg_iov = buffers.buffers();
        message.msg_iovlen = buffers.count();
        for (;;) {
            message.msg_control = control;
            message.msg_controllen = sizeof control;
            const ssize_t n = ::recvmsg(op->socket_, &message, 0);
            if (n > 0) {
                op->bytes_transferred_ = static_cast<std::size_t>(n);
                return reported_queue_length(message) == 0 ? done_and_exhausted : done;
            }
            if (n == 0) {
                op->ec_ = boost::asio::error::eof;
                return done_and_exhausted;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (op->empty_reads_ != nullptr) ++*op->empty_reads_;
                return not_done;
            }
            op->ec_ = boost::system::error_code(errno, boost::asio::error::get_system_category());
            return done;
        }
    }

    ad::socket_type socket_;
    Buffers buffers_;
    std::uint64_t* empty_reads_;
};

// The completion: hands the result to the handler on its executor, as Asio's receive does.
template <class Buffers, class Handler, class IoExecutor>
class ReceiveOp : public ReceiveOpBase<Buffers> {
  public:
    BOOST_ASIO_DEFINE_HANDLER_PTR(ReceiveOp);

    ReceiveOp(ad::socket_type socket, const Buffers& buffers, std::uint64_t* empty_reads,
              Handler& handler, const IoExecutor& io_executor)
        : ReceiveOpBase<Buffers>(socket, buffers, empty_reads, &ReceiveOp::deliver),
          handler_(std::move(handler)),
          work_(handler_, io_executor) {}

    static void deliver(void* owner, ad::operation* base, const boost::system::error_code&,
                        std::size_t) {
        auto* op = static_cast<ReceiveOp*>(base);
        ptr p = {std::addressof(op->handler_), op, op};
        ad::handler_work<Handler, IoExecutor> work(std::move(op->work_));
        // The handler may own the memory of the operation: free it through a copy of it.
        ad::binder2<Handler, boost::system::error_code, std::size_t> call(op->handler_, op->ec_,
                                                                          op->bytes_transferred_);
        p.h = std::addressof(call.handler_);
        p.reset();
        if (owner != nullptr) {  // null when the reactor is destroying queued operations
            ad::fenced_block fence(ad::fenced_block::half);
            work.complete(call, call.handler_);
        }
    }

  private:
    Handler handler_;
    ad::handler_work<Handler, IoExecutor> work_;
};

// basic_socket keeps its implementation protected; a pointer to the member, named through a
// derived class, reads it from any socket.
struct SocketAccess : boost::asio::ip::tcp::socket {
    static auto& implementation(boost::asio::ip::tcp::socket& socket) {
        return (socket.*(&SocketAccess::impl_)).get_implementation();
    }
};

}  // namespace inq_detail
#endif

// Receives from one connected TCP socket as socket.async_receive(buffers, handler) does, telling
// the reactor when a receive emptied the socket (above). One per socket, set up once.
class QueueReportingReceiver {
  public:
    // Turns on TCP_INQ for `socket`; without it (refused, or another Boost) receives are Asio's.
    explicit QueueReportingReceiver(boost::asio::ip::tcp::socket& socket);

    // Receives that found nothing (EAGAIN) so far: with queue reports, a client that waits for
    // each answer before its next request causes none.
    std::uint64_t empty_reads() const { return empty_reads_; }

    template <class Buffers, class Handler>
    void async_receive(boost::asio::ip::tcp::socket& socket, const Buffers& buffers,
                       Handler&& handler) {
#if KEYBRIDGE_INQ_RECEIVE
        namespace ad = boost::asio::detail;
        using HandlerType = std::decay_t<Handler>;
        using Op = inq_detail::ReceiveOp<Buffers, HandlerType,
                                         boost::asio::ip::tcp::socket::executor_type>;
        if (reactor_ == nullptr || boost::asio::buffer_size(buffers) == 0 ||
            boost::asio::get_associated_cancellation_slot(handler).is_connected())
            return socket.async_receive(buffers, std::forward<Handler>(handler));
        auto& impl = inq_detail::SocketAccess::implementation(socket);
        const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
        HandlerType& owned = handler;
        typename Op::ptr p = {std::addressof(owned), Op::ptr::allocate(owned), nullptr};
        p.p = new (p.v) Op(impl.socket_, buffers, &empty_reads_, owned, socket.get_executor());
        if ((impl.state_ & ad::socket_ops::non_blocking) == 0 &&
            !ad::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true, p.p->ec_)) {
            reactor_->post_immediate_completion(p.p, is_continuation);
        } else {
            reactor_->start_op(ad::reactor::read_op, impl.socket_, impl.reactor_data_, p.p,
                               is_continuation, true);
        }
        p.v = p.p = nullptr;
#else
        socket.async_receive(buffers, std::forward<Handler>(handler));
#endif
    }

  private:
#if KEYBRIDGE_INQ_RECEIVE
    boost::asio::detail::reactor* reactor_ = nullptr;  // null: TCP_INQ refused
#endif
    std::uint64_t empty_reads_ = 0;
};

}  // namespace keybridge::daemon::net
