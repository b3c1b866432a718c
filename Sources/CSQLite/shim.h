// SQLite 3 for the embedded job store (Service: jobs.store sqlite://). SQLITE_TRANSIENT and the
// extended result codes are macros Swift cannot import: name them.
#include <sqlite3.h>

static inline sqlite3_destructor_type csqlite_transient(void) { return SQLITE_TRANSIENT; }
static inline int csqlite_is_unique_violation(int extended) {
    return extended == SQLITE_CONSTRAINT_UNIQUE || extended == SQLITE_CONSTRAINT_PRIMARYKEY;
}
