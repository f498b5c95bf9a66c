// liburing >= 2.4/2.5 helpers used by mediasoup-worker 3.19.x, on top of Debian's liburing 2.3.
#ifndef MS_LIBURING_COMPAT_H
#define MS_LIBURING_COMPAT_H
#include_next <liburing.h>
#ifndef IO_URING_VERSION_MAJOR
static inline int io_uring_major_version(void) { return 2; }
static inline int io_uring_minor_version(void) { return 3; }
static inline void io_uring_prep_sendto(struct io_uring_sqe *sqe, int sockfd, const void *buf,
	size_t len, int flags, const struct sockaddr *addr, socklen_t addrlen)
{
	io_uring_prep_send(sqe, sockfd, buf, len, flags);
	io_uring_prep_send_set_addr(sqe, addr, addrlen);
}
#endif
#endif
