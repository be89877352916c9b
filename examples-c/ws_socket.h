/*
 * ws_socket.h - the two socket chores the example programs share: writing
 * a whole buffer to a blocking socket, and listening on loopback.
 */
#ifndef WS_SOCKET_H
#define WS_SOCKET_H

#include <stddef.h>

/* Writes the whole buffer to a blocking socket; 0 ok, -1 error. */
int ws_write_all(int fd, const void *data, size_t len);
/* Opens a non-blocking TCP socket listening on 127.0.0.1:port (0: any free
   port) and prints "listening on <port>" to stdout. Returns the socket, or
   -1 (message printed) on error. */
int ws_listen_loopback(int port);

#endif
