// epoll and eventfd, which Glibc's Swift module does not export: the socket poller of the libpq and hiredis pools.
#include <sys/epoll.h>
#include <sys/eventfd.h>
