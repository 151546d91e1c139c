// The system's SQLite 3 (Debian: libsqlite3-dev), read by the MLflow importer.
#include <sqlite3.h>
