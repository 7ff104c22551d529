/*
 * AURA Lab's chain check as an SQLite loadable extension (optional: verification falls back to
 * the same check in JavaScript, src/node/chain-check.ts, when this library is not built).
 *
 * aura_chain_rows(expected, previous_hash, position, stream_id, version, id, type_id,
 *                 schema_version, virtual_time_us, causation_id, correlation_id, payload, hash)
 * is an aggregate over a page of the events table, in the order SQLite scans it. For every row
 * it recomputes the event's chain hash, SHA-256 over
 *   hex(previous stored hash) \n position \n stream \n version \n hex(id) \n type \n
 *   schema_version \n virtual_time_us \n hex(causation_id) \n correlation_id \n payload
 * (encoding.ts: hashFraming, sqlite-event-store.ts: chainHash) and compares it with the row's
 * stored hash. It returns
 *   int32 rows, int32 rows not vouched for, then per row 24 bytes: position (float64),
 *   stream_id, version, type_id (int32), a flag (int32: 1 = vouched for), then, when every row
 *   was vouched for, the last row's stored hash (32 bytes).
 * A row is vouched for only when it follows its predecessor (position = expected), every value
 * has the type the store writes, integers are exact in JavaScript (|v| <= 2^53; stream_id,
 * version and type_id fit int32), every text is valid UTF-8 (so that JavaScript, decoding and
 * re-encoding it, would hash the same bytes), its names exist, and the hash matches. The
 * caller checks a page with any row not vouched for the JavaScript way, whole.
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
static const sqlite3_int64 exact_max = 9007199254740992LL; /* 2^53 */

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
  if (n == 0) return;
  reserve(b, n);
  if (b->failed) return;
  memcpy(b->bytes + b->length, bytes, n);
  b->length += n;
}

static void put_newline(Buffer *b) { put(b, "\n", 1); }

static void put_hex(Buffer *b, const unsigned char *bytes, int n) {
  if (n <= 0 || bytes == NULL) return;
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

/* Valid UTF-8 as a WHATWG decoder sees it: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int valid_utf8(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t word;
      memcpy(&word, s + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) { i += 8; continue; }
    }
    unsigned char c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t length;
    uint32_t point;
    if (c >= 0xC2 && c <= 0xDF) { length = 2; point = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { length = 3; point = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { length = 4; point = c & 0x07; }
    else return 0;
    if (i + length > n) return 0;
    for (size_t k = 1; k < length; k++) {
      unsigned char d = s[i + k];
      if ((d & 0xC0) != 0x80) return 0;
      point = (point << 6) | (d & 0x3F);
    }
    if (length == 3 && (point < 0x800 || (point >= 0xD800 && point <= 0xDFFF))) return 0;
    if (length == 4 && (point < 0x10000 || point > 0x10FFFF)) return 0;
    i += length;
  }
  return 1;
}

/* A TEXT value that is valid UTF-8, appended; 0 (nothing appended) otherwise. */
static int put_text(Buffer *b, sqlite3_value *value) {
  if (sqlite3_value_type(value) != SQLITE_TEXT) return 0;
  const unsigned char *text = sqlite3_value_text(value);
  int length = sqlite3_value_bytes(value);
  if (text == NULL || length < 0 || !valid_utf8(text, (size_t)length)) return 0;
  put(b, text, (size_t)length);
  return 1;
}

/*
 * Stream and type names by id: an open-addressing table per connection, filled from the
 * connection's own `streams` and `event_types` on first use (names never change once written).
 * A join per row cost a third of the check.
 */
typedef struct {
  sqlite3_int64 id;
  char *text; /* NULL: no such row, not text, or not valid UTF-8 */
  int length;
  int used;
} Name;

typedef struct {
  Name *slots;
  size_t capacity, count;
} NameTable;

typedef struct {
  NameTable streams, types;
} Names;

static size_t slot_of(sqlite3_int64 id, size_t capacity) {
  return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> 20) & (capacity - 1);
}

static Name *find_slot(NameTable *table, sqlite3_int64 id) {
  size_t at = slot_of(id, table->capacity);
  while (table->slots[at].used && table->slots[at].id != id) at = (at + 1) & (table->capacity - 1);
  return &table->slots[at];
}

static int grow_table(NameTable *table) {
  size_t capacity = table->capacity == 0 ? 1024 : table->capacity * 2;
  Name *slots = calloc(capacity, sizeof(Name));
  if (slots == NULL) return 0;
  NameTable grown = { slots, capacity, table->count };
  for (size_t i = 0; i < table->capacity; i++) {
    if (table->slots[i].used) *find_slot(&grown, table->slots[i].id) = table->slots[i];
  }
  free(table->slots);
  *table = grown;
  return 1;
}

static void free_table(NameTable *table) {
  for (size_t i = 0; i < table->capacity; i++) free(table->slots[i].text);
  free(table->slots);
  table->slots = NULL;
  table->capacity = table->count = 0;
}

static void free_names(void *pointer) {
  Names *names = pointer;
  free_table(&names->streams);
  free_table(&names->types);
  free(names);
}

/* The name for `id`, or NULL (no such row, not valid text, out of memory). */
static const Name *lookup(sqlite3 *db, NameTable *table, const char *sql, sqlite3_int64 id) {
  if ((table->count + 1) * 2 > table->capacity && !grow_table(table)) return NULL;
  Name *name = find_slot(table, id);
  if (!name->used) {
    sqlite3_stmt *statement = NULL;
    name->used = 1;
    name->id = id;
    name->text = NULL;
    table->count += 1;
    if (sqlite3_prepare_v2(db, sql, -1, &statement, NULL) == SQLITE_OK) {
      sqlite3_bind_int64(statement, 1, id);
      if (sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_type(statement, 0) == SQLITE_TEXT) {
        const unsigned char *text = sqlite3_column_text(statement, 0);
        int length = sqlite3_column_bytes(statement, 0);
        if (text != NULL && length >= 0 && valid_utf8(text, (size_t)length)) {
          name->text = malloc((size_t)length + 1);
          if (name->text != NULL) {
            memcpy(name->text, text, (size_t)length);
            name->length = length;
          }
        }
      }
    }
    sqlite3_finalize(statement);
  }
  return name->text == NULL ? NULL : name;
}

enum { EXPECTED, PREVIOUS, POSITION, STREAM_ID, VERSION, ID, TYPE_ID, SCHEMA_VERSION, VIRTUAL_TIME, CAUSATION, CORRELATION, PAYLOAD, HASH, ARGUMENTS };

typedef struct {
  int started;
  sqlite3_int64 expected;
  unsigned char previous[32];
  int has_previous;
  int32_t rows, not_vouched;
  Buffer framing;
  Buffer records;
} Chain;

static int exact(sqlite3_value *value) {
  if (sqlite3_value_type(value) != SQLITE_INTEGER) return 0;
  sqlite3_int64 v = sqlite3_value_int64(value);
  return v >= -exact_max && v <= exact_max;
}

static int int32_value(sqlite3_value *value) {
  if (sqlite3_value_type(value) != SQLITE_INTEGER) return 0;
  sqlite3_int64 v = sqlite3_value_int64(value);
  return v >= INT32_MIN && v <= INT32_MAX;
}

/* 1 when the row's stored hash is the chain hash of its content after `chain->previous`. */
static int vouch(sqlite3_context *context, Chain *chain, sqlite3_value **argv, sqlite3_int64 position) {
  if (!chain->has_previous || position != chain->expected) return 0;
  if (!(sqlite3_value_type(argv[HASH]) == SQLITE_BLOB && sqlite3_value_bytes(argv[HASH]) == 32)) return 0;
  if (!exact(argv[POSITION]) || !int32_value(argv[STREAM_ID]) || !int32_value(argv[VERSION]) || !int32_value(argv[TYPE_ID])) return 0;
  if (!exact(argv[SCHEMA_VERSION]) || !exact(argv[VIRTUAL_TIME])) return 0;
  if (sqlite3_value_type(argv[ID]) != SQLITE_BLOB) return 0;
  int causation = sqlite3_value_type(argv[CAUSATION]);
  int correlation = sqlite3_value_type(argv[CORRELATION]);
  if (causation != SQLITE_NULL && causation != SQLITE_BLOB) return 0;
  if (correlation != SQLITE_NULL && correlation != SQLITE_TEXT) return 0;
  Names *names = sqlite3_user_data(context);
  sqlite3 *db = sqlite3_context_db_handle(context);
  const Name *stream = lookup(db, &names->streams, "SELECT name FROM streams WHERE stream_id = ?", sqlite3_value_int64(argv[STREAM_ID]));
  if (stream == NULL) return 0;
  const Name *type = lookup(db, &names->types, "SELECT name FROM event_types WHERE type_id = ?", sqlite3_value_int64(argv[TYPE_ID]));
  if (type == NULL) return 0;
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
  if (causation == SQLITE_BLOB) put_hex(f, sqlite3_value_blob(argv[CAUSATION]), sqlite3_value_bytes(argv[CAUSATION]));
  put_newline(f);
  if (correlation == SQLITE_TEXT && !put_text(f, argv[CORRELATION])) return 0;
  put_newline(f);
  if (!put_text(f, argv[PAYLOAD]) || f->failed) return 0;
  unsigned char digest[32];
  Sha256 sha;
  SHA256_Init(&sha);
  SHA256_Update(&sha, f->bytes, f->length);
  SHA256_Final(digest, &sha);
  return memcmp(digest, sqlite3_value_blob(argv[HASH]), 32) == 0;
}

static void chain_step(sqlite3_context *context, int argc, sqlite3_value **argv) {
  (void)argc;
  Chain *chain = sqlite3_aggregate_context(context, sizeof(Chain));
  if (chain == NULL) { sqlite3_result_error_nomem(context); return; }
  if (!chain->started) {
    int32_t header[2] = { 0, 0 };
    chain->started = 1;
    chain->expected = sqlite3_value_int64(argv[EXPECTED]);
    chain->has_previous = sqlite3_value_type(argv[PREVIOUS]) == SQLITE_BLOB && sqlite3_value_bytes(argv[PREVIOUS]) == 32;
    if (chain->has_previous) memcpy(chain->previous, sqlite3_value_blob(argv[PREVIOUS]), 32);
    put(&chain->records, header, sizeof header);
  }
  sqlite3_int64 position = sqlite3_value_int64(argv[POSITION]);
  int32_t flag = vouch(context, chain, argv, position);
  if (chain->framing.failed) { sqlite3_result_error_nomem(context); return; }
  chain->rows += 1;
  if (!flag) chain->not_vouched += 1;
  /* As the JavaScript check goes on: the next row must follow this one, and chains from its stored hash. */
  chain->has_previous = sqlite3_value_type(argv[HASH]) == SQLITE_BLOB && sqlite3_value_bytes(argv[HASH]) == 32;
  if (chain->has_previous) memcpy(chain->previous, sqlite3_value_blob(argv[HASH]), 32);
  chain->expected = position < INT64_MAX ? position + 1 : position;
  double position_value = (double)position;
  int32_t ints[4] = { (int32_t)sqlite3_value_int64(argv[STREAM_ID]), (int32_t)sqlite3_value_int64(argv[VERSION]), (int32_t)sqlite3_value_int64(argv[TYPE_ID]), flag };
  put(&chain->records, &position_value, sizeof position_value);
  put(&chain->records, ints, sizeof ints);
  if (chain->records.failed) sqlite3_result_error_nomem(context);
}

static void chain_final(sqlite3_context *context) {
  Chain *chain = sqlite3_aggregate_context(context, 0);
  if (chain == NULL) { sqlite3_result_zeroblob(context, 0); return; }
  if (chain->not_vouched == 0 && chain->rows > 0) put(&chain->records, chain->previous, 32);
  if (chain->records.failed || chain->records.bytes == NULL) sqlite3_result_error_nomem(context);
  else {
    int32_t header[2] = { chain->rows, chain->not_vouched };
    memcpy(chain->records.bytes, header, sizeof header);
    sqlite3_result_blob(context, chain->records.bytes, (int)chain->records.length, SQLITE_TRANSIENT);
  }
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
