/*
 * AURA Lab's hash chain in SQLite, as a loadable extension: the chain check that verification
 * runs, and the chain link that batched appends write. Both are optional: without this library
 * the same check runs in JavaScript (src/node/chain-check.ts) and appends hash and insert their
 * rows from JavaScript (src/node/sqlite-event-store.ts); the log's bytes are the same.
 *
 * aura_chain_rows(expected, previous_hash, position, stream_id, version, id, type_id,
 *                 schema_version, virtual_time_us, causation_id, correlation_id, payload, hash)
 * is an aggregate over a page of the events table, in the order SQLite scans it. For every row
 * it recomputes the event's chain hash, SHA-256 over
 *   hex(previous stored hash) \n position \n stream \n version \n hex(id) \n type \n
 *   schema_version \n virtual_time_us \n hex(causation_id) \n correlation_id \n payload
 * (encoding.ts: hashFraming, sqlite-event-store.ts: chainHash) and compares it with the row's
 * stored hash. It returns
 *   int32 rows, int32 rows not vouched for, uint64 the sum of every row's (id, position) entry
 *   digest (entry_digest: what the id index must hold), then per row 24 bytes: position (float64),
 *   stream_id, version, type_id (int32), a flag (int32: 1 = vouched for), then, when every row
 *   was vouched for, the last row's stored hash (32 bytes).
 * A row is vouched for only when it follows its predecessor (position = expected), every value
 * has the type the store writes, integers are exact in JavaScript (|v| <= 2^53; stream_id,
 * version and type_id fit int32), every text is valid UTF-8 (so that JavaScript, decoding and
 * re-encoding it, would hash the same bytes), its names exist, and the hash matches. The
 * caller checks a page with any row not vouched for the JavaScript way, whole.
 *
 * aura_id_index(id, rowid) sums the same entry digests over the id index's entries (a covering
 * scan of events_by_id) and counts entries equal to, or sorting before, the one before: with
 * SQLite's quick_check,
 * which checks every page's structure but not that an index holds its table's rows, it stands in
 * for integrity_check's lookup of every row in the index (src/node/verify.ts: databaseCheck).
 *
 * aura_insert_rows(previous_hash, rows) inserts a batch of events that JavaScript has validated,
 * serialised and numbered, packed as native-endian records (src/node/native-append.ts): per row
 * six float64 (position, stream_id, version, type_id, schema_version, virtual_time_us), six uint32
 * byte lengths (stream, id, type, causation, correlation, payload; 0xFFFFFFFF: null), then those
 * UTF-8 texts, padded to 8 bytes. It links each row to the one before by the framing above
 * (built in one place for both functions: chain_hash),
 * starting from previous_hash, inserts it into `events`, and returns the last row's hash. A
 * failed insert fails the call with SQLite's error code and message (a reused id:
 * SQLITE_CONSTRAINT_UNIQUE, "UNIQUE constraint failed: events.id"); rows inserted before it stay
 * in the caller's transaction, which rolls back.
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

/*
 * A TEXT value's UTF-8 bytes where they lie (its length: sqlite3_value_bytes, called after).
 * sqlite3_value_text copies a value read straight from a page (every payload of the chain
 * check and of a packed range) only to end it with a terminator; sqlite3_value_blob hands over
 * the stored bytes, which in a UTF-8 database are the text's. Never NULL: "" for an empty text.
 */
static const unsigned char *text_bytes(sqlite3_value *value) {
  const unsigned char *bytes = sqlite3_value_encoding(value) == SQLITE_UTF8 ? sqlite3_value_blob(value) : sqlite3_value_text(value);
  return bytes != NULL ? bytes : (const unsigned char *)"";
}

/* The bytes of a TEXT value that is valid UTF-8, or NULL; its length in *length. */
static const unsigned char *valid_text(sqlite3_value *value, size_t *length) {
  if (sqlite3_value_type(value) != SQLITE_TEXT) return NULL;
  const unsigned char *text = text_bytes(value);
  int bytes = sqlite3_value_bytes(value);
  if (bytes < 0 || !valid_utf8(text, (size_t)bytes)) return NULL;
  *length = (size_t)bytes;
  return text;
}

/* A field of the framing: bytes written as they are, or (hex) as lowercase hex digits; absent when bytes is NULL. */
typedef struct {
  const unsigned char *bytes;
  size_t length;
  int hex;
} Field;

/* An event's framing fields (core/events/encoding.ts: hashFraming). */
typedef struct {
  sqlite3_int64 position, version, schema_version, virtual_time;
  Field stream, id, type, causation, correlation, payload;
} Framing;

/* The bytes a field takes in the framing. */
static size_t field_length(Field field) {
  if (field.bytes == NULL) return 0;
  return field.hex ? 2 * field.length : field.length;
}

static unsigned char *write_field(unsigned char *out, Field field) {
  if (field.bytes == NULL) return out;
  if (!field.hex) {
    memcpy(out, field.bytes, field.length);
    return out + field.length;
  }
  for (size_t i = 0; i < field.length; i++) {
    out[2 * i] = (unsigned char)hex_digits[field.bytes[i] >> 4];
    out[2 * i + 1] = (unsigned char)hex_digits[field.bytes[i] & 15];
  }
  return out + 2 * field.length;
}

/* Decimal digits and a newline; at most 21 bytes. */
static unsigned char *write_int_line(unsigned char *out, sqlite3_int64 value) {
  char digits[24];
  int at = 24;
  uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
  do { digits[--at] = (char)('0' + magnitude % 10); magnitude /= 10; } while (magnitude != 0);
  if (value < 0) digits[--at] = '-';
  memcpy(out, digits + at, (size_t)(24 - at));
  out += 24 - at;
  *out++ = '\n';
  return out;
}

/*
 * The chain hash of an event after `previous`: SHA-256 of the previous hash as hex and the
 * framing, one field per line. The one place both the check (vouch) and the link (insert_rows)
 * frame an event. Everything before the payload is built in `scratch` (sized once); the payload,
 * most of the bytes, goes to SHA-256 where it lies. 0 when out of memory.
 */
static int chain_hash(Buffer *scratch, const unsigned char previous[32], const Framing *e, unsigned char digest[32]) {
  Buffer *f = scratch;
  f->length = 0;
  reserve(f, 65 + 4 * 21 + field_length(e->stream) + field_length(e->id) + field_length(e->type) + field_length(e->causation) + field_length(e->correlation) + 6);
  if (f->failed) return 0;
  unsigned char *out = f->bytes;
  Field previous_field = { previous, 32, 1 };
  out = write_field(out, previous_field); *out++ = '\n';
  out = write_int_line(out, e->position);
  out = write_field(out, e->stream); *out++ = '\n';
  out = write_int_line(out, e->version);
  out = write_field(out, e->id); *out++ = '\n';
  out = write_field(out, e->type); *out++ = '\n';
  out = write_int_line(out, e->schema_version);
  out = write_int_line(out, e->virtual_time);
  out = write_field(out, e->causation); *out++ = '\n';
  out = write_field(out, e->correlation); *out++ = '\n';
  Sha256 sha;
  SHA256_Init(&sha);
  SHA256_Update(&sha, f->bytes, (size_t)(out - f->bytes));
  if (e->payload.bytes != NULL && e->payload.length > 0) SHA256_Update(&sha, e->payload.bytes, e->payload.length);
  SHA256_Final(digest, &sha);
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

/*
 * One (id, rowid) entry of the events table or of its id index, as 64 bits: splitmix64's
 * finaliser over the value's type, the rowid and the value's bytes. Verification adds them up
 * (mod 2^64) over the table's rows (aura_chain_rows, as it reads them) and over the index's
 * entries (aura_id_index): equal sums and counts say the index holds exactly the table's
 * (id, rowid) pairs, the check SQLite's integrity_check makes by a lookup per row.
 */
static uint64_t mix64(uint64_t x) {
  x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27; x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static uint64_t entry_digest(sqlite3_value *id, sqlite3_int64 rowid) {
  int type = sqlite3_value_type(id);
  uint64_t h = mix64(0x9E3779B97F4A7C15ULL + (uint64_t)type);
  h = mix64(h ^ (uint64_t)rowid);
  if (type == SQLITE_INTEGER) return mix64(h ^ (uint64_t)sqlite3_value_int64(id));
  if (type == SQLITE_FLOAT) { double value = sqlite3_value_double(id); uint64_t bits; memcpy(&bits, &value, 8); return mix64(h ^ bits); }
  if (type == SQLITE_NULL) return h;
  const unsigned char *bytes = sqlite3_value_blob(id);
  size_t length = (size_t)sqlite3_value_bytes(id);
  size_t i = 0;
  for (; i + 8 <= length; i += 8) { uint64_t word; memcpy(&word, bytes + i, 8); h = mix64(h ^ word); }
  if (i < length) { uint64_t word = 0; memcpy(&word, bytes + i, length - i); h = mix64(h ^ word); }
  return mix64(h ^ (uint64_t)length);
}

enum { EXPECTED, PREVIOUS, POSITION, STREAM_ID, VERSION, ID, TYPE_ID, SCHEMA_VERSION, VIRTUAL_TIME, CAUSATION, CORRELATION, PAYLOAD, HASH, ARGUMENTS };

typedef struct {
  int started;
  sqlite3_int64 expected;
  unsigned char previous[32];
  int has_previous;
  int32_t rows, not_vouched;
  uint64_t id_digest;
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
  const unsigned char *correlated = NULL;
  size_t correlated_length = 0;
  if (correlation == SQLITE_TEXT && (correlated = valid_text(argv[CORRELATION], &correlated_length)) == NULL) return 0;
  size_t payload_length;
  const unsigned char *payload = valid_text(argv[PAYLOAD], &payload_length);
  if (payload == NULL) return 0;
  Framing e = {
    position,
    sqlite3_value_int64(argv[VERSION]),
    sqlite3_value_int64(argv[SCHEMA_VERSION]),
    sqlite3_value_int64(argv[VIRTUAL_TIME]),
    { (const unsigned char *)stream->text, (size_t)stream->length, 0 },
    { sqlite3_value_blob(argv[ID]), (size_t)sqlite3_value_bytes(argv[ID]), 1 },
    { (const unsigned char *)type->text, (size_t)type->length, 0 },
    { causation == SQLITE_BLOB ? sqlite3_value_blob(argv[CAUSATION]) : NULL, causation == SQLITE_BLOB ? (size_t)sqlite3_value_bytes(argv[CAUSATION]) : 0, 1 },
    { correlated, correlated_length, 0 },
    { payload, payload_length, 0 },
  };
  unsigned char digest[32];
  if (!chain_hash(&chain->framing, chain->previous, &e, digest)) return 0;
  return memcmp(digest, sqlite3_value_blob(argv[HASH]), 32) == 0;
}

static void chain_step(sqlite3_context *context, int argc, sqlite3_value **argv) {
  (void)argc;
  Chain *chain = sqlite3_aggregate_context(context, sizeof(Chain));
  if (chain == NULL) { sqlite3_result_error_nomem(context); return; }
  if (!chain->started) {
    unsigned char header[16] = { 0 };
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
  chain->id_digest += entry_digest(argv[ID], position);
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
    memcpy(chain->records.bytes + sizeof header, &chain->id_digest, sizeof chain->id_digest);
    /* SQLite takes the buffer (and frees it). */
    sqlite3_result_blob64(context, chain->records.bytes, (sqlite3_uint64)chain->records.length, free);
    chain->records.bytes = NULL;
  }
  free(chain->framing.bytes);
  free(chain->records.bytes);
}

/*
 * aura_id_index(id, rowid): an aggregate over the id index's entries in index order (a covering
 * scan of events_by_id). Returns 32 bytes: int64 entries, uint64 the sum of their entry_digest,
 * int64 entries equal to the one before (a unique index holds none; NULL ids aside), int64
 * entries that sort before the one before (an index in order holds none: pages swapped or keys
 * changed). Values compare as SQLite orders them with BINARY collation: NULL, numbers, text,
 * blobs; text and blobs byte by byte, then by length.
 */
typedef struct {
  int kind; /* 0 NULL, 1 number, 2 text, 3 blob */
  int is_integer;
  sqlite3_int64 integer;
  double real;
  Buffer bytes;
} IndexKey;

typedef struct {
  sqlite3_int64 entries, duplicates, disorder;
  uint64_t digest;
  int has_previous;
  IndexKey previous;
} IdIndex;

static int kind_of(int type) {
  switch (type) {
    case SQLITE_NULL: return 0;
    case SQLITE_INTEGER: case SQLITE_FLOAT: return 1;
    case SQLITE_TEXT: return 2;
    default: return 3;
  }
}

/* <0, 0, >0 as `a` sorts before, with or after the value `b`. */
static int compare_key(const IndexKey *a, sqlite3_value *b) {
  int type = sqlite3_value_type(b);
  int kind = kind_of(type);
  if (a->kind != kind) return a->kind < kind ? -1 : 1;
  if (kind == 0) return 0;
  if (kind == 1) {
    if (a->is_integer && type == SQLITE_INTEGER) {
      sqlite3_int64 v = sqlite3_value_int64(b);
      return a->integer < v ? -1 : a->integer > v;
    }
    double x = a->is_integer ? (double)a->integer : a->real, y = sqlite3_value_double(b);
    return x < y ? -1 : x > y;
  }
  const unsigned char *bytes = sqlite3_value_blob(b);
  size_t length = (size_t)sqlite3_value_bytes(b);
  size_t common = a->bytes.length < length ? a->bytes.length : length;
  int c = common == 0 ? 0 : memcmp(a->bytes.bytes, bytes, common);
  if (c != 0) return c;
  return a->bytes.length < length ? -1 : a->bytes.length > length;
}

static void keep_key(IndexKey *key, sqlite3_value *value) {
  int type = sqlite3_value_type(value);
  key->kind = kind_of(type);
  key->is_integer = type == SQLITE_INTEGER;
  key->integer = type == SQLITE_INTEGER ? sqlite3_value_int64(value) : 0;
  key->real = type == SQLITE_FLOAT ? sqlite3_value_double(value) : 0;
  key->bytes.length = 0;
  if (key->kind >= 2) put(&key->bytes, sqlite3_value_blob(value), (size_t)sqlite3_value_bytes(value));
}

static void id_index_step(sqlite3_context *context, int argc, sqlite3_value **argv) {
  (void)argc;
  IdIndex *state = sqlite3_aggregate_context(context, sizeof(IdIndex));
  if (state == NULL) { sqlite3_result_error_nomem(context); return; }
  state->entries += 1;
  state->digest += entry_digest(argv[0], sqlite3_value_int64(argv[1]));
  if (state->has_previous) {
    int order = compare_key(&state->previous, argv[0]);
    if (order > 0) state->disorder += 1;
    else if (order == 0 && state->previous.kind != 0) state->duplicates += 1;
  }
  state->has_previous = 1;
  keep_key(&state->previous, argv[0]);
  if (state->previous.bytes.failed) sqlite3_result_error_nomem(context);
}

static void id_index_final(sqlite3_context *context) {
  IdIndex *state = sqlite3_aggregate_context(context, 0);
  unsigned char out[32] = { 0 };
  if (state != NULL) {
    memcpy(out, &state->entries, 8);
    memcpy(out + 8, &state->digest, 8);
    memcpy(out + 16, &state->duplicates, 8);
    memcpy(out + 24, &state->disorder, 8);
    free(state->previous.bytes.bytes);
  }
  sqlite3_result_blob(context, out, sizeof out, SQLITE_TRANSIENT);
}

enum { ROW_NUMBERS = 6, ROW_TEXTS = 6, ROW_HEADER = ROW_NUMBERS * 8 + ROW_TEXTS * 4 };
static const uint32_t null_text = 0xFFFFFFFFu;

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* 32 lowercase hex digits to 16 bytes; 0 when the text is anything else. */
static int id_bytes(const unsigned char *hex, uint32_t length, unsigned char out[16]) {
  if (length != 32) return 0;
  for (int i = 0; i < 16; i++) {
    int high = hex_value(hex[2 * i]), low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) return 0;
    out[i] = (unsigned char)(high << 4 | low);
  }
  return 1;
}

/* A float64 that holds an integer JavaScript represents exactly. */
static int exact_integer(double value, sqlite3_int64 *out) {
  if (!(value >= -9007199254740992.0 && value <= 9007199254740992.0)) return 0;
  sqlite3_int64 integer = (sqlite3_int64)value;
  if ((double)integer != value) return 0;
  *out = integer;
  return 1;
}

static void insert_fail(sqlite3_context *context, int code, const char *message) {
  sqlite3_result_error(context, message, -1);
  sqlite3_result_error_code(context, code);
}

static void insert_rows(sqlite3_context *context, int argc, sqlite3_value **argv) {
  (void)argc;
  if (sqlite3_value_type(argv[0]) != SQLITE_BLOB || sqlite3_value_bytes(argv[0]) != 32) { insert_fail(context, SQLITE_MISUSE, "aura_insert_rows: the previous hash must be 32 bytes"); return; }
  if (sqlite3_value_type(argv[1]) != SQLITE_BLOB) { insert_fail(context, SQLITE_MISUSE, "aura_insert_rows: rows must be a blob"); return; }
  unsigned char previous[32];
  memcpy(previous, sqlite3_value_blob(argv[0]), 32);
  const unsigned char *rows = sqlite3_value_blob(argv[1]);
  size_t size = (size_t)sqlite3_value_bytes(argv[1]);
  sqlite3 *db = sqlite3_context_db_handle(context);
  sqlite3_stmt *insert = NULL;
  if (sqlite3_prepare_v2(db, "INSERT INTO events (position, stream_id, version, id, type_id, schema_version, payload, virtual_time_us, causation_id, correlation_id, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", -1, &insert, NULL) != SQLITE_OK) {
    insert_fail(context, sqlite3_extended_errcode(db), sqlite3_errmsg(db));
    return;
  }
  Buffer framing = { NULL, 0, 0, 0 };
  size_t at = 0;
  const char *problem = NULL;
  while (at < size && problem == NULL) {
    if (size - at < ROW_HEADER) { problem = "aura_insert_rows: a row is cut short"; break; }
    double numbers[ROW_NUMBERS];
    uint32_t lengths[ROW_TEXTS];
    memcpy(numbers, rows + at, sizeof numbers);
    memcpy(lengths, rows + at + sizeof numbers, sizeof lengths);
    const unsigned char *texts[ROW_TEXTS];
    size_t end = at + ROW_HEADER;
    for (int k = 0; k < ROW_TEXTS; k++) {
      texts[k] = rows + end;
      if (lengths[k] != null_text) {
        if (lengths[k] > size - end) { problem = "aura_insert_rows: a text runs past the rows"; break; }
        end += lengths[k];
      }
    }
    if (problem != NULL) break;
    sqlite3_int64 values[ROW_NUMBERS];
    for (int k = 0; k < ROW_NUMBERS; k++) {
      if (!exact_integer(numbers[k], &values[k])) { problem = "aura_insert_rows: a number is not an exact integer"; break; }
    }
    if (problem != NULL) break;
    enum { T_STREAM, T_ID, T_TYPE, T_CAUSATION, T_CORRELATION, T_PAYLOAD };
    unsigned char id[16], causation[16];
    if (lengths[T_STREAM] == null_text || lengths[T_TYPE] == null_text || lengths[T_PAYLOAD] == null_text || !id_bytes(texts[T_ID], lengths[T_ID], id) ||
        (lengths[T_CAUSATION] != null_text && !id_bytes(texts[T_CAUSATION], lengths[T_CAUSATION], causation))) {
      problem = "aura_insert_rows: a row lacks a name or payload, or has an id that is not 32 lowercase hex digits";
      break;
    }
    Framing e = {
      values[0], values[2], values[4], values[5],
      { texts[T_STREAM], lengths[T_STREAM], 0 },
      { texts[T_ID], 32, 0 },
      { texts[T_TYPE], lengths[T_TYPE], 0 },
      { lengths[T_CAUSATION] == null_text ? NULL : texts[T_CAUSATION], 32, 0 },
      { lengths[T_CORRELATION] == null_text ? NULL : texts[T_CORRELATION], lengths[T_CORRELATION], 0 },
      { texts[T_PAYLOAD], lengths[T_PAYLOAD], 0 },
    };
    if (!chain_hash(&framing, previous, &e, previous)) { problem = "aura_insert_rows: out of memory"; break; }
    sqlite3_bind_int64(insert, 1, values[0]);
    sqlite3_bind_int64(insert, 2, values[1]);
    sqlite3_bind_int64(insert, 3, values[2]);
    sqlite3_bind_blob(insert, 4, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(insert, 5, values[3]);
    sqlite3_bind_int64(insert, 6, values[4]);
    sqlite3_bind_text(insert, 7, (const char *)texts[T_PAYLOAD], (int)lengths[T_PAYLOAD], SQLITE_STATIC);
    sqlite3_bind_int64(insert, 8, values[5]);
    if (lengths[T_CAUSATION] == null_text) sqlite3_bind_null(insert, 9);
    else sqlite3_bind_blob(insert, 9, causation, 16, SQLITE_STATIC);
    if (lengths[T_CORRELATION] == null_text) sqlite3_bind_null(insert, 10);
    else sqlite3_bind_text(insert, 10, (const char *)texts[T_CORRELATION], (int)lengths[T_CORRELATION], SQLITE_STATIC);
    sqlite3_bind_blob(insert, 11, previous, 32, SQLITE_STATIC);
    if (sqlite3_step(insert) != SQLITE_DONE) {
      insert_fail(context, sqlite3_extended_errcode(db), sqlite3_errmsg(db));
      free(framing.bytes);
      sqlite3_finalize(insert);
      return;
    }
    sqlite3_reset(insert);
    at = (end + 7) & ~(size_t)7;
  }
  free(framing.bytes);
  sqlite3_finalize(insert);
  if (problem != NULL) insert_fail(context, SQLITE_MISUSE, problem);
  else sqlite3_result_blob(context, previous, 32, SQLITE_TRANSIENT);
}

/*
 * aura_event_rows(position, stream_id, version, id, type_id, schema_version, payload,
 *                 virtual_time_us, causation_id, correlation_id): an aggregate over a page of
 * events in scan order, packed for EventReader (src/node/native-read.ts): int32 rows, int32
 * unusual (1: some row is not as the store writes it, and the caller reads the page with SQL
 * instead), then per row six float64 (position, stream_id, version, type_id, schema_version,
 * virtual_time_us), four uint32 byte lengths (id and causation as lowercase hex, correlation,
 * payload; 0xFFFFFFFF: null) and those texts, padded to 8 bytes. Rows must come in ascending
 * position: a page whose rows do not is unusual too (a query over events without ORDER BY
 * relies on the scan's order, and this is what makes relying on it safe).
 */
typedef struct {
  int32_t rows, unusual;
  sqlite3_int64 last_position;
  Buffer out;
} EventRows;

enum { R_POSITION, R_STREAM_ID, R_VERSION, R_ID, R_TYPE_ID, R_SCHEMA_VERSION, R_PAYLOAD, R_VIRTUAL_TIME, R_CAUSATION, R_CORRELATION, R_ARGUMENTS };

static void event_rows_step(sqlite3_context *context, int argc, sqlite3_value **argv) {
  (void)argc;
  EventRows *state = sqlite3_aggregate_context(context, sizeof(EventRows));
  if (state == NULL) { sqlite3_result_error_nomem(context); return; }
  if (state->out.length == 0) { int32_t header[2] = { 0, 0 }; put(&state->out, header, sizeof header); }
  if (state->unusual) return;
  int causation = sqlite3_value_type(argv[R_CAUSATION]);
  int correlation = sqlite3_value_type(argv[R_CORRELATION]);
  if (!exact(argv[R_POSITION]) || !exact(argv[R_STREAM_ID]) || !exact(argv[R_VERSION]) || !exact(argv[R_TYPE_ID]) || !exact(argv[R_SCHEMA_VERSION]) || !exact(argv[R_VIRTUAL_TIME]) ||
      sqlite3_value_type(argv[R_ID]) != SQLITE_BLOB || sqlite3_value_type(argv[R_PAYLOAD]) != SQLITE_TEXT || (causation != SQLITE_NULL && causation != SQLITE_BLOB) ||
      (correlation != SQLITE_NULL && correlation != SQLITE_TEXT) || sqlite3_value_bytes(argv[R_ID]) != 16 ||
      (causation == SQLITE_BLOB && sqlite3_value_bytes(argv[R_CAUSATION]) != 16) ||
      (state->rows > 0 && sqlite3_value_int64(argv[R_POSITION]) <= state->last_position)) {
    /* Ids of any length but 16 bytes too: the row path's reading of them is the one answer. */
    state->unusual = 1;
    return;
  }
  state->last_position = sqlite3_value_int64(argv[R_POSITION]);
  double numbers[6] = {
    (double)sqlite3_value_int64(argv[R_POSITION]), (double)sqlite3_value_int64(argv[R_STREAM_ID]), (double)sqlite3_value_int64(argv[R_VERSION]),
    (double)sqlite3_value_int64(argv[R_TYPE_ID]), (double)sqlite3_value_int64(argv[R_SCHEMA_VERSION]), (double)sqlite3_value_int64(argv[R_VIRTUAL_TIME]),
  };
  const unsigned char *id = sqlite3_value_blob(argv[R_ID]);
  int id_length = sqlite3_value_bytes(argv[R_ID]);
  const unsigned char *cause = causation == SQLITE_BLOB ? sqlite3_value_blob(argv[R_CAUSATION]) : NULL;
  int cause_length = causation == SQLITE_BLOB ? sqlite3_value_bytes(argv[R_CAUSATION]) : 0;
  const unsigned char *correlated = correlation == SQLITE_TEXT ? text_bytes(argv[R_CORRELATION]) : NULL;
  int correlated_length = correlation == SQLITE_TEXT ? sqlite3_value_bytes(argv[R_CORRELATION]) : 0;
  const unsigned char *payload = text_bytes(argv[R_PAYLOAD]);
  int payload_length = sqlite3_value_bytes(argv[R_PAYLOAD]);
  uint32_t lengths[4] = {
    2 * (uint32_t)id_length,
    causation == SQLITE_BLOB ? 2 * (uint32_t)cause_length : null_text,
    correlation == SQLITE_TEXT ? (uint32_t)correlated_length : null_text,
    (uint32_t)payload_length,
  };
  Buffer *b = &state->out;
  put(b, numbers, sizeof numbers);
  put(b, lengths, sizeof lengths);
  put_hex(b, id, id_length);
  if (cause != NULL) put_hex(b, cause, cause_length);
  if (correlated != NULL) put(b, correlated, (size_t)correlated_length);
  put(b, payload, (size_t)payload_length);
  static const unsigned char zeros[8] = { 0 };
  put(b, zeros, (8 - (b->length & 7)) & 7);
  state->rows += 1;
}

static void event_rows_final(sqlite3_context *context) {
  EventRows *state = sqlite3_aggregate_context(context, 0);
  if (state == NULL) { int32_t empty[2] = { 0, 0 }; sqlite3_result_blob(context, empty, sizeof empty, SQLITE_TRANSIENT); return; }
  if (state->out.failed) sqlite3_result_error_nomem(context);
  else {
    int32_t header[2] = { state->rows, state->unusual };
    memcpy(state->out.bytes, header, sizeof header);
    /* SQLite takes the buffer (and frees it): a page is not copied once more. */
    sqlite3_result_blob64(context, state->out.bytes, (sqlite3_uint64)state->out.length, free);
    return;
  }
  free(state->out.bytes);
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_extension_init(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
  (void)error;
  SQLITE_EXTENSION_INIT2(api);
  Names *names = calloc(1, sizeof(Names));
  if (names == NULL) return SQLITE_NOMEM;
  int status = sqlite3_create_function_v2(db, "aura_chain_rows", ARGUMENTS, SQLITE_UTF8, names, NULL, chain_step, chain_final, free_names);
  if (status != SQLITE_OK) return status;
  status = sqlite3_create_function_v2(db, "aura_id_index", 2, SQLITE_UTF8 | SQLITE_INNOCUOUS, NULL, NULL, id_index_step, id_index_final, NULL);
  if (status != SQLITE_OK) return status;
  status = sqlite3_create_function_v2(db, "aura_event_rows", R_ARGUMENTS, SQLITE_UTF8 | SQLITE_INNOCUOUS, NULL, NULL, event_rows_step, event_rows_final, NULL);
  if (status != SQLITE_OK) return status;
  /* Direct only: a function that writes must not be callable from a trigger or view in a file someone else made. */
  return sqlite3_create_function_v2(db, "aura_insert_rows", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, NULL, insert_rows, NULL, NULL, NULL);
}
