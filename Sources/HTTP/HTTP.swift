// HTTP: a small HTTP/1.1 server on POSIX sockets and Dispatch, and its byte-level parser.
// Knows nothing of emotion.
