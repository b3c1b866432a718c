// Linux event-loop primitives that Swift's Glibc module does not export (used by the HTTP server).
#include <sys/epoll.h>
#include <sys/eventfd.h>
