// libpq for the shared job store (Service: jobs.store postgres://).
#include <libpq-fe.h>
