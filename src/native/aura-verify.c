/*
 * AURA Lab's chain check as an SQLite loadable extension (optional: verification falls back to
 * the same check in JavaScript, src/node/chain-check.ts, when this library is not built).
 *
 * aura_chain_rows(expected, previous_hash, position, stream_id, version, id, type_id,
 *                 schema_version, virtual_time_us, causation_id, correlation_id, payload, hash)
 * is an aggregate over a range of the events table read in position order. For every row it
 * recomputes the event's chain hash, SHA-256 over
 *   hex(previous stored hash) \n position \n stream \n version \n hex(id) \n type \n
 *   schema_version \n virtual_time_us \n hex(causation_id) \n correlation_id \n payload
 * (encoding.ts: hashFraming, sqlite-event-store.ts: chainHash) and returns one 24-byte record
 * per row: position (float64), stream_id, version, type_id (int32) and a flag (int32): 1 when
 * the row followed its predecessor and its stored hash matched, 0 when the caller must look at
 * the row itself (a hole before it, a missing name, a mismatch). It returns NULL when rows came
 * out of position order, and the caller checks the range itself.
 *
 * SHA-256 is OpenSSL's (SHA-NI where the CPU has it), resolved from the host process (Node
 * exports its OpenSSL symbols for native addons); SQLite loads extensions with RTLD_NOW, so a
 * host without them fails to load this library rather than failing later.
 */
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * OpenSSL's low-level SHA-256 (SHA256_CTX as in openssl/sha.h, unchanged since 1.0; padded
 * here in case it ever grows). The one-shot SHA256() goes through EVP and looks the algorithm
 * up by name, under a lock, at every call: a fifth of the check's time.
 */
typedef union {
  struct { unsigned int h[8]; unsigned int Nl, Nh; unsigned int data[16]; unsigned int num, md_len; } state;
  unsigned char room[512];
} Sha256;
extern int SHA256_Init(Sha256 *context);
extern int SHA256_Update(Sha256 *context, const void *data, size_t length);
extern int SHA256_Final(unsigned char *digest, Sha256 *context);

static const char hex_digits[] = "0123456789abcdef";

typedef struct {
  unsigned char *bytes;
  size_t length, capacity;
  int failed;
} Buffer;

static void reserve(Buffer *b, size_t more) {
  if (b->failed || b->length + more <= b->capacity) return;
  size_t capacity = (b->length + more) * 2;
  unsigned char *grown = realloc(b->bytes, capacity);
  if (grown == NULL) { b->failed = 1; return; }
  b->bytes = grown;
  b->capacity = capacity;
}

static void put(Buffer *b, const void *bytes, size_t n) {
  reserve(b, n);
  if (b->failed) return;
  if (n > 0) memcpy(b->bytes + b->length, bytes, n);
  b->length += n;
}

static void put_newline(Buffer *b) { put(b, "\n", 1); }

static void put_hex(Buffer *b, const unsigned char *bytes, int n) {
  reserve(b, 2 * (size_t)n);
  if (b->failed) return;
  unsigned char *out = b->bytes + b->length;
  for (int i = 0; i < n; i++) {
    out[2 * i] = (unsigned char)hex_digits[bytes[i] >> 4];
    out[2 * i + 1] = (unsigned char)hex_digits[bytes[i] & 15];
  }
  b->length += 2 * (size_t)n;
}

static void put_int(Buffer *b, sqlite3_int64 value) {
  char digits[24];
  int at = 24;
  uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
  do { digits[--at] = (char)('0' + magnitude % 10); magnitude /= 10; } while (magnitude != 0);
  if (value < 0) digits[--at] = '-';
  put(b, digits + at, (size_t)(24 - at));
}

static void put_text(Buffer *b, sqlite3_value *value) {
  const unsigned char *text = sqlite3_value_text(value);
  put(b, text, (size_t)sqlite3_value_bytes(value));
}

enum { EXPECTED, PREVIOUS, POSITION, STREAM_ID, VERSION, ID, TYPE_ID, SCHEMA_VERSION, VIRTUAL_TIME, CAUSATION, CORRELATION, PAYLOAD, HASH, ARGUMENTS };

/*
 * Stream and type names by id, looked up in the connection's own tables on first use and kept
 * for the connection's life (names never change once written). A join per row cost a third of
 * the check.
 */
typedef struct {
  char *text;
  int length; /* -1: looked up, no such row (or not text) */
  int known;
} Name;

typedef struct {
  Name *names;
  sqlite3_int64 capacity;
} NameTable;

typedef struct {
  NameTable streams, types;
} Names;

static void free_table(NameTable *table) {
  for (sqlite3_int64 i = 0; i < table->capacity; i++) free(table->names[i].text);
  free(table->names);
  table->names = NULL;
  table->capacity = 0;
}

static void free_names(void *pointer) {
  Names *names = pointer;
  free_table(&names->streams);
  free_table(&names->types);
  free(names);
}

/* The name for `id`, or NULL (no such row, an id out of range, out of memory). */
static const Name *lookup(sqlite3 *db, NameTable *table, const char *sql, sqlite3_int64 id) {
  if (id < 0 || id > 50000000) return NULL;
  if (id >= table->capacity) {
    sqlite3_int64 capacity = id + 1 > table->capacity * 2 ? id + 1 : table->capacity * 2;
    Name *grown = realloc(table->names, (size_t)capacity * sizeof(Name));
    if (grown == NULL) return NULL;
    memset(grown + table->capacity, 0, (size_t)(capacity - table->capacity) * sizeof(Name));
    table->names = grown;
    table->capacity = capacity;
  }
  Name *name = &table->names[id];
  if (!name->known) {
    sqlite3_stmt *statement = NULL;
    name->length = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) == SQLITE_OK) {
      sqlite3_bind_int64(statement, 1, id);
      if (sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_type(statement, 0) == SQLITE_TEXT) {
        const unsigned char *text = sqlite3_column_text(statement, 0);
        int length = sqlite3_column_bytes(statement, 0);
        name->text = malloc((size_t)length + 1);
        if (name->text != NULL) {
          memcpy(name->text, text, (size_t)length);
          name->length = length;
        }
      }
    }
    sqlite3_finalize(statement);
    if (name->text == NULL && name->length >= 0) name->length = -1;
    name->known = 1;
  }
  return name->length < 0 ? NULL : name;
}

typedef struct {
  int started;
  int out_of_order;
  sqlite3_int64 expected;
  unsigned char previous[32];
  int has_previous;
  Buffer framing;
  Buffer records;
} Chain;

static void chain_step(sqlite3_context *context, int argc, sqlite3_value **argv) {
  (void)argc;
  Chain *chain = sqlite3_aggregate_context(context, sizeof(Chain));
  if (chain == NULL) { sqlite3_result_error_nomem(context); return; }
  if (!chain->started) {
    chain->started = 1;
    chain->expected = sqlite3_value_int64(argv[EXPECTED]);
    chain->has_previous = sqlite3_value_type(argv[PREVIOUS]) == SQLITE_BLOB && sqlite3_value_bytes(argv[PREVIOUS]) == 32;
    if (chain->has_previous) memcpy(chain->previous, sqlite3_value_blob(argv[PREVIOUS]), 32);
  }
  if (chain->out_of_order) return;
  sqlite3_int64 position = sqlite3_value_int64(argv[POSITION]);
  if (position < chain->expected) { chain->out_of_order = 1; return; }
  int32_t flag = 0;
  int stored_ok = sqlite3_value_type(argv[HASH]) == SQLITE_BLOB && sqlite3_value_bytes(argv[HASH]) == 32;
  /* Only values of the types the store writes are hashed here; anything else is the caller's. */
  int complete = stored_ok && chain->has_previous && position == chain->expected
    && sqlite3_value_type(argv[POSITION]) == SQLITE_INTEGER && sqlite3_value_type(argv[STREAM_ID]) == SQLITE_INTEGER
    && sqlite3_value_type(argv[VERSION]) == SQLITE_INTEGER && sqlite3_value_type(argv[TYPE_ID]) == SQLITE_INTEGER
    && sqlite3_value_type(argv[SCHEMA_VERSION]) == SQLITE_INTEGER && sqlite3_value_type(argv[VIRTUAL_TIME]) == SQLITE_INTEGER
    && sqlite3_value_type(argv[PAYLOAD]) == SQLITE_TEXT && sqlite3_value_type(argv[ID]) == SQLITE_BLOB
    && (sqlite3_value_type(argv[CAUSATION]) == SQLITE_NULL || sqlite3_value_type(argv[CAUSATION]) == SQLITE_BLOB)
    && (sqlite3_value_type(argv[CORRELATION]) == SQLITE_NULL || sqlite3_value_type(argv[CORRELATION]) == SQLITE_TEXT);
  const Name *stream = NULL, *type = NULL;
  if (complete) {
    Names *names = sqlite3_user_data(context);
    sqlite3 *db = sqlite3_context_db_handle(context);
    stream = lookup(db, &names->streams, "SELECT name FROM streams WHERE stream_id = ?", sqlite3_value_int64(argv[STREAM_ID]));
    type = lookup(db, &names->types, "SELECT name FROM event_types WHERE type_id = ?", sqlite3_value_int64(argv[TYPE_ID]));
    complete = stream != NULL && type != NULL;
  }
  if (complete) {
    Buffer *f = &chain->framing;
    f->length = 0;
    put_hex(f, chain->previous, 32); put_newline(f);
    put_int(f, position); put_newline(f);
    put(f, stream->text, (size_t)stream->length); put_newline(f);
    put_int(f, sqlite3_value_int64(argv[VERSION])); put_newline(f);
    put_hex(f, sqlite3_value_blob(argv[ID]), sqlite3_value_bytes(argv[ID])); put_newline(f);
    put(f, type->text, (size_t)type->length); put_newline(f);
    put_int(f, sqlite3_value_int64(argv[SCHEMA_VERSION])); put_newline(f);
    put_int(f, sqlite3_value_int64(argv[VIRTUAL_TIME])); put_newline(f);
    if (sqlite3_value_type(argv[CAUSATION]) != SQLITE_NULL) put_hex(f, sqlite3_value_blob(argv[CAUSATION]), sqlite3_value_bytes(argv[CAUSATION]));
    put_newline(f);
    if (sqlite3_value_type(argv[CORRELATION]) != SQLITE_NULL) put_text(f, argv[CORRELATION]);
    put_newline(f);
    put_text(f, argv[PAYLOAD]);
    if (f->failed) { sqlite3_result_error_nomem(context); return; }
    unsigned char digest[32];
    Sha256 sha;
    SHA256_Init(&sha);
    SHA256_Update(&sha, f->bytes, f->length);
    SHA256_Final(digest, &sha);
    flag = memcmp(digest, sqlite3_value_blob(argv[HASH]), 32) == 0;
  }
  chain->has_previous = stored_ok;
  if (stored_ok) memcpy(chain->previous, sqlite3_value_blob(argv[HASH]), 32);
  chain->expected = position + 1;
  double position_value = (double)position;
  int32_t ints[4] = { (int32_t)sqlite3_value_int64(argv[STREAM_ID]), (int32_t)sqlite3_value_int64(argv[VERSION]), (int32_t)sqlite3_value_int64(argv[TYPE_ID]), flag };
  put(&chain->records, &position_value, sizeof position_value);
  put(&chain->records, ints, sizeof ints);
  if (chain->records.failed) sqlite3_result_error_nomem(context);
}

static void chain_final(sqlite3_context *context) {
  Chain *chain = sqlite3_aggregate_context(context, 0);
  if (chain == NULL) { sqlite3_result_zeroblob(context, 0); return; }
  if (chain->out_of_order || chain->records.failed) sqlite3_result_null(context);
  else sqlite3_result_blob(context, chain->records.bytes, (int)chain->records.length, SQLITE_TRANSIENT);
  free(chain->framing.bytes);
  free(chain->records.bytes);
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_extension_init(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
  (void)error;
  SQLITE_EXTENSION_INIT2(api);
  Names *names = calloc(1, sizeof(Names));
  if (names == NULL) return SQLITE_NOMEM;
  return sqlite3_create_function_v2(db, "aura_chain_rows", ARGUMENTS, SQLITE_UTF8, names, NULL, chain_step, chain_final, free_names);
}
