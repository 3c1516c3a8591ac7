/*  store_data - values, arrays, dicts and lists

    Dict keys and values and list items are kept as the msgpack frames they
    came in (payload frames taken out of the request, never re-encoded) and
    go back out as they are; only list extend and list creation unpack a
    payload, to split it into items.

    Numbers in values and arrays follow their typecode: integers wrap to
    the type's width as C casts do, 'f' rounds to float.
*/
#include "store_internal.h"

#include "zmp_error.h"
#include "zmp_value.h"

//  Python's index rules: negative counts from the end. Returns false
//  (call answered with kind range) outside 0 to size - 1.
static bool
s_index (zmp_store_t *store, store_call_t *call, int64_t index, size_t size,
         size_t *position)
{
    int64_t at = index < 0 ? index + (int64_t) size : index;
    if (at < 0 || (uint64_t) at >= size) {
        store_reply_error (store, call, ZMP_ERR_RANGE,
                           "index %lld is out of range for %zu items",
                           (long long) index, size);
        return false;
    }
    *position = (size_t) at;
    return true;
}

//  Python's slice rules for start and stop over size items
static void
s_slice (int64_t start, int64_t stop, size_t size, size_t *from, size_t *to)
{
    int64_t length = (int64_t) size;
    if (start < 0)
        start = start + length < 0 ? 0 : start + length;
    if (stop < 0)
        stop = stop + length < 0 ? 0 : stop + length;
    if (start > length)
        start = length;
    if (stop > length)
        stop = length;
    if (stop < start)
        stop = start;
    *from = (size_t) start;
    *to = (size_t) stop;
}

//  The slice params[0] to params[1] of size items; false if call was
//  answered
static bool
s_slice_params (zmp_store_t *store, store_call_t *call, size_t size,
                size_t *from, size_t *to)
{
    int64_t start, stop;
    if (!store_param_int (store, call, 0, &start)
        || !store_param_int (store, call, 1, &stop))
        return false;
    s_slice (start, stop, size, from, to);
    return true;
}

//  --------------------------------------------------------------------------
//  Values and arrays

static bool
s_typecode_valid (char typecode)
{
    return typecode && strchr ("bBhHiIlLqQfd", typecode);
}

static bool
s_typecode_float (char typecode)
{
    return typecode == 'f' || typecode == 'd';
}

static bool
s_typecode_signed (char typecode)
{
    return typecode && strchr ("bhilq", typecode);
}

//  Wrap an integer to typecode's width
static store_number_t
s_wrap (char typecode, uint64_t bits)
{
    store_number_t number;
    switch (typecode) {
        case 'b':
            number.i = (int8_t) bits;
            break;
        case 'B':
            number.u = (uint8_t) bits;
            break;
        case 'h':
            number.i = (int16_t) bits;
            break;
        case 'H':
            number.u = (uint16_t) bits;
            break;
        case 'i':
            number.i = (int32_t) bits;
            break;
        case 'I':
            number.u = (uint32_t) bits;
            break;
        case 'l':
        case 'q':
            number.i = (int64_t) bits;
            break;
        default:
            number.u = bits;
    }
    return number;
}

//  Read a number for typecode from object. Returns false (call answered)
//  if it is no number, or a float for an integer type.
static bool
s_number (zmp_store_t *store, store_call_t *call, char typecode,
          const msgpack_object *object, store_number_t *number)
{
    bool integer = object->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                   || object->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
    bool real = object->type == MSGPACK_OBJECT_FLOAT32
                || object->type == MSGPACK_OBJECT_FLOAT64;
    if (s_typecode_float (typecode) && (integer || real)) {
        double value = real ? object->via.f64
                       : object->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                           ? (double) object->via.u64
                           : (double) object->via.i64;
        number->d = typecode == 'f' ? (double) (float) value : value;
        return true;
    }
    if (integer) {
        *number = s_wrap (typecode, object->via.u64);
        return true;
    }
    store_reply_error (store, call, ZMP_ERR_BAD_ARGUMENTS,
                       real ? "a float cannot be stored with typecode '%c'"
                            : "typecode '%c' stores numbers only",
                       typecode);
    return false;
}

static void
s_pack_number (msgpack_packer *packer, char typecode, store_number_t number)
{
    if (s_typecode_float (typecode))
        msgpack_pack_double (packer, number.d);
    else if (s_typecode_signed (typecode))
        msgpack_pack_int64 (packer, number.i);
    else
        msgpack_pack_uint64 (packer, number.u);
}

static void
s_reply_number (zmp_store_t *store, store_call_t *call, char typecode,
                store_number_t number)
{
    store_packer_t out;
    msgpack_packer *packer = store_packer_init (&out);
    s_pack_number (packer, typecode, number);
    store_reply_packed (store, call, &out);
}

//  The typecode parameter; false (call answered) if it is not one
static bool
s_param_typecode (zmp_store_t *store, store_call_t *call, char *typecode)
{
    const msgpack_object *object =
        call->param_count > 0 ? &call->params[0] : NULL;
    if (!object || object->type != MSGPACK_OBJECT_STR
        || object->via.str.size != 1
        || !s_typecode_valid (object->via.str.ptr[0])) {
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "typecode must be one of b B h H i I l L q Q f d");
        return false;
    }
    *typecode = object->via.str.ptr[0];
    return true;
}

static store_object_t *
s_numbers_new (zmp_store_t *store, store_call_t *call, zmp_object_kind_t kind,
               char typecode, size_t count)
{
    if (!store_bytes_fit (store, call, count * sizeof (store_number_t)))
        return NULL;
    store_object_t *object = store_object_new (store, call, kind);
    if (object) {
        object->typecode = typecode;
        object->lock.reentrant = true;  //  Python's get_lock () is an RLock
        object->count = count;
        object->numbers = (store_number_t *) zmalloc (
            (count ? count : 1) * sizeof (store_number_t));
        store_bytes_add (store, object, count * sizeof (store_number_t));
    }
    return object;
}

//  new value [typecode, initial]
void
store_value_new (zmp_store_t *store, store_call_t *call, store_object_t *unused)
{
    (void) unused;
    char typecode;
    store_number_t number;
    if (!s_param_typecode (store, call, &typecode))
        return;
    if (call->param_count < 2) {
        store_reply_error (store, call, ZMP_ERR_PROTOCOL,
                           "object request: new value takes an initial value");
        return;
    }
    if (!s_number (store, call, typecode, &call->params[1], &number))
        return;
    store_object_t *object =
        s_numbers_new (store, call, ZMP_OBJECT_VALUE, typecode, 1);
    if (object) {
        object->numbers[0] = number;
        store_reply_handle (store, call, object);
    }
}

//  new array [typecode, items or size]
void
store_array_new (zmp_store_t *store, store_call_t *call, store_object_t *unused)
{
    (void) unused;
    char typecode;
    if (!s_param_typecode (store, call, &typecode))
        return;
    const msgpack_object *init =
        call->param_count > 1 ? &call->params[1] : NULL;
    uint64_t size = 0;
    bool items = init && init->type == MSGPACK_OBJECT_ARRAY;
    if (items)
        size = init->via.array.size;
    else if (!init || zmp_uint_get (init, UINT64_MAX, &size)) {
        store_reply_error (store, call, ZMP_ERR_BAD_ARGUMENTS,
                           "an array is made from its items or a size");
        return;
    }
    if (size > ZMP_STORE_ARRAY_MAX) {
        store_reply_error (store, call, ZMP_ERR_LIMIT,
                           "an array holds at most %u items, not %llu",
                           ZMP_STORE_ARRAY_MAX, (unsigned long long) size);
        return;
    }
    store_number_t *numbers = NULL;
    if (items) {
        numbers = (store_number_t *) zmalloc ((size ? size : 1)
                                              * sizeof (store_number_t));
        for (uint64_t index = 0; index < size; index++)
            if (!s_number (store, call, typecode, &init->via.array.ptr[index],
                           &numbers[index])) {
                free (numbers);
                return;
            }
    }
    store_object_t *object =
        s_numbers_new (store, call, ZMP_OBJECT_ARRAY, typecode, (size_t) size);
    if (object) {
        if (numbers)
            memcpy (object->numbers, numbers, size * sizeof (store_number_t));
        store_reply_handle (store, call, object);
    }
    free (numbers);
}

//  The number a get, set or add is about: a value's own, or an array's
//  item params[0]. *next is the index of the parameter after it.
static store_number_t *
s_target (zmp_store_t *store, store_call_t *call, store_object_t *object,
          uint32_t *next)
{
    if (object->kind == ZMP_OBJECT_VALUE) {
        *next = 0;
        return &object->numbers[0];
    }
    int64_t index;
    size_t position;
    if (!store_param_int (store, call, 0, &index)
        || !s_index (store, call, index, object->count, &position))
        return NULL;
    *next = 1;
    return &object->numbers[position];
}

//  get (value) or get [index] (array)
void
store_value_get (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    uint32_t next;
    store_number_t *target = s_target (store, call, object, &next);
    if (target)
        s_reply_number (store, call, object->typecode, *target);
}

//  set [value] or set [index, value]
void
store_value_set (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    uint32_t next;
    store_number_t *target = s_target (store, call, object, &next);
    if (!target)
        return;
    if (next >= call->param_count) {
        store_reply_error (store, call, ZMP_ERR_PROTOCOL,
                           "object request: set takes a value");
        return;
    }
    if (s_number (store, call, object->typecode, &call->params[next], target))
        store_reply_nil (store, call);
}

//  add [delta] or add [index, delta] -> the new value
void
store_value_add (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    uint32_t next;
    store_number_t *target = s_target (store, call, object, &next);
    if (!target)
        return;
    store_number_t delta;
    if (next >= call->param_count) {
        store_reply_error (store, call, ZMP_ERR_PROTOCOL,
                           "object request: add takes a delta");
        return;
    }
    char typecode = object->typecode;
    if (!s_number (store, call, typecode, &call->params[next], &delta))
        return;
    if (s_typecode_float (typecode))
        target->d = typecode == 'f' ? (double) (float) (target->d + delta.d)
                                    : target->d + delta.d;
    else  //  Two's complement: the same bits for signed and unsigned
        *target = s_wrap (typecode, target->u + delta.u);
    s_reply_number (store, call, typecode, *target);
}

void
store_array_len (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    store_reply_uint (store, call, object->count);
}

//  slice [start, stop] -> array
void
store_array_slice (zmp_store_t *store, store_call_t *call,
                   store_object_t *object)
{
    size_t from, to;
    if (!s_slice_params (store, call, object->count, &from, &to))
        return;
    store_packer_t out;
    msgpack_packer *packer = store_packer_init (&out);
    msgpack_pack_array (packer, to - from);
    for (size_t index = from; index < to; index++)
        s_pack_number (packer, object->typecode, object->numbers[index]);
    store_reply_packed (store, call, &out);
}

//  set_slice [start, stop, items]
void
store_array_set_slice (zmp_store_t *store, store_call_t *call,
                       store_object_t *object)
{
    size_t from, to;
    if (!s_slice_params (store, call, object->count, &from, &to))
        return;
    const msgpack_object *items =
        call->param_count > 2 ? &call->params[2] : NULL;
    if (!items || items->type != MSGPACK_OBJECT_ARRAY) {
        store_reply_error (store, call, ZMP_ERR_BAD_ARGUMENTS,
                           "set_slice takes an array of numbers");
        return;
    }
    if (items->via.array.size != to - from) {
        store_reply_error (store, call, ZMP_ERR_RANGE,
                           "a slice of %zu items cannot take %u", to - from,
                           items->via.array.size);
        return;
    }
    //  All or nothing: check every number before storing any
    store_number_t *numbers =
        (store_number_t *) zmalloc ((to - from + 1) * sizeof (store_number_t));
    bool valid = true;
    for (size_t index = 0; valid && index < to - from; index++)
        valid = s_number (store, call, object->typecode,
                          &items->via.array.ptr[index], &numbers[index]);
    if (valid) {
        memcpy (object->numbers + from, numbers,
                (to - from) * sizeof (store_number_t));
        store_reply_nil (store, call);
    }
    free (numbers);
}

//  --------------------------------------------------------------------------
//  Dicts: entries hashed by their key's bytes, kept in insertion order

static size_t
s_key_hash (const void *key)
{
    zframe_t *frame = (zframe_t *) key;
    const byte *data = zframe_data (frame);
    size_t hash = 14695981039346656037ull;
    for (size_t index = 0; index < zframe_size (frame); index++)
        hash = (hash ^ data[index]) * 1099511628211ull;
    return hash;
}

static int
s_key_compare (const void *key1, const void *key2)
{
    zframe_t *a = (zframe_t *) key1, *b = (zframe_t *) key2;
    if (zframe_size (a) != zframe_size (b))
        return zframe_size (a) < zframe_size (b) ? -1 : 1;
    return memcmp (zframe_data (a), zframe_data (b), zframe_size (a));
}

static void
s_entry_free (void **item_p)
{
    store_entry_t *entry = (store_entry_t *) *item_p;
    if (entry) {
        zframe_destroy (&entry->key);
        zframe_destroy (&entry->value);
        free (entry);
        *item_p = NULL;
    }
}

static size_t
s_entry_bytes (const store_entry_t *entry)
{
    return zframe_size (entry->key) + zframe_size (entry->value);
}

void
store_dict_new (zmp_store_t *store, store_call_t *call, store_object_t *unused)
{
    (void) unused;
    store_object_t *object = store_object_new (store, call, ZMP_OBJECT_DICT);
    if (object) {
        object->entries = zhashx_new ();
        zhashx_set_key_hasher (object->entries, s_key_hash);
        zhashx_set_key_comparator (object->entries, s_key_compare);
        zhashx_set_key_duplicator (object->entries, NULL);
        zhashx_set_key_destructor (object->entries, NULL);
        zhashx_set_destructor (object->entries, s_entry_free);
        object->order = zlistx_new ();
        store_reply_handle (store, call, object);
    }
}

//  The entry for payload 0 (the key), or NULL; *key_p gets the key frame
//  (NULL if call was answered: no valid key)
static store_entry_t *
s_dict_lookup (zmp_store_t *store, store_call_t *call, store_object_t *object,
               zframe_t **key_p)
{
    *key_p = store_payload (store, call, 0);
    return *key_p ? (store_entry_t *) zhashx_lookup (object->entries, *key_p)
                  : NULL;
}

static void
s_dict_remove (zmp_store_t *store, store_object_t *object, store_entry_t *entry)
{
    store_bytes_sub (store, object, s_entry_bytes (entry));
    zlistx_delete (object->order, entry->order_handle);
    zhashx_delete (object->entries, entry->key);  //  Frees the entry
}

//  set + [key, value]
void
store_dict_set (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    zframe_t *key;
    store_entry_t *entry = s_dict_lookup (store, call, object, &key);
    zframe_t *value = key ? store_payload (store, call, 1) : NULL;
    if (!value)
        return;
    size_t now = zframe_size (value) + (entry ? 0 : zframe_size (key));
    size_t before = entry ? zframe_size (entry->value) : 0;
    if (now > before && !store_bytes_fit (store, call, now - before))
        return;
    zmsg_remove (call->payloads, value);
    if (entry) {
        store_bytes_sub (store, object, before);
        zframe_destroy (&entry->value);
        entry->value = value;
        store_bytes_add (store, object, zframe_size (value));
    } else {
        zmsg_remove (call->payloads, key);
        entry = (store_entry_t *) zmalloc (sizeof (store_entry_t));
        entry->key = key;
        entry->value = value;
        entry->order_handle = zlistx_add_end (object->order, entry);
        zhashx_insert (object->entries, entry->key, entry);
        store_bytes_add (store, object, s_entry_bytes (entry));
    }
    store_reply_nil (store, call);
}

static void
s_not_found (zmp_store_t *store, store_call_t *call)
{
    store_reply_error (store, call, ZMP_ERR_NOT_FOUND,
                       "the key is not in the dict");
}

void
store_dict_get (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    zframe_t *key;
    store_entry_t *entry = s_dict_lookup (store, call, object, &key);
    if (entry)
        store_reply_frame (store, call, entry->value);
    else if (key)
        s_not_found (store, call);
}

void
store_dict_pop (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    zframe_t *key;
    store_entry_t *entry = s_dict_lookup (store, call, object, &key);
    if (entry) {
        store_reply_frame (store, call, entry->value);
        s_dict_remove (store, object, entry);
    } else if (key)
        s_not_found (store, call);
}

void
store_dict_delete (zmp_store_t *store, store_call_t *call,
                   store_object_t *object)
{
    zframe_t *key;
    store_entry_t *entry = s_dict_lookup (store, call, object, &key);
    if (entry) {
        s_dict_remove (store, object, entry);
        store_reply_nil (store, call);
    } else if (key)
        s_not_found (store, call);
}

void
store_dict_contains (zmp_store_t *store, store_call_t *call,
                     store_object_t *object)
{
    zframe_t *key;
    store_entry_t *entry = s_dict_lookup (store, call, object, &key);
    if (key)
        store_reply_bool (store, call, entry != NULL);
}

void
store_dict_len (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    store_reply_uint (store, call, zlistx_size (object->order));
}

//  Reply with the keys (an array) or the whole dict (a map), in order
static void
s_dict_dump (zmp_store_t *store, store_call_t *call, store_object_t *object,
             bool values)
{
    store_packer_t out;
    msgpack_packer *packer = store_packer_init (&out);
    if (values)
        msgpack_pack_map (packer, zlistx_size (object->order));
    else
        msgpack_pack_array (packer, zlistx_size (object->order));
    for (store_entry_t *entry = (store_entry_t *) zlistx_first (object->order);
         entry; entry = (store_entry_t *) zlistx_next (object->order)) {
        msgpack_sbuffer_write (&out.buffer,
                               (const char *) zframe_data (entry->key),
                               zframe_size (entry->key));
        if (values)
            msgpack_sbuffer_write (&out.buffer,
                                   (const char *) zframe_data (entry->value),
                                   zframe_size (entry->value));
    }
    store_reply_packed (store, call, &out);
}

void
store_dict_keys (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    s_dict_dump (store, call, object, false);
}

void
store_dict_items (zmp_store_t *store, store_call_t *call,
                  store_object_t *object)
{
    s_dict_dump (store, call, object, true);
}

static void
s_dict_clear (zmp_store_t *store, store_object_t *object)
{
    store_entry_t *entry;
    while ((entry = (store_entry_t *) zlistx_first (object->order)))
        s_dict_remove (store, object, entry);
}

void
store_dict_clear (zmp_store_t *store, store_call_t *call,
                  store_object_t *object)
{
    s_dict_clear (store, object);
    store_reply_nil (store, call);
}

//  --------------------------------------------------------------------------
//  Lists: an array of frames

//  The item count an array's header declares, or UINT64_MAX if frame does
//  not start with an array
static uint64_t
s_array_count (zframe_t *frame)
{
    const byte *data = zframe_data (frame);
    size_t size = zframe_size (frame);
    if (size >= 1 && data[0] >= 0x90 && data[0] <= 0x9f)
        return data[0] & 0x0f;
    if (size >= 3 && data[0] == 0xdc)
        return (uint64_t) data[1] << 8 | data[2];
    if (size >= 5 && data[0] == 0xdd)
        return (uint64_t) data[1] << 24 | (uint64_t) data[2] << 16
               | (uint64_t) data[3] << 8 | data[4];
    return UINT64_MAX;
}

//  Make room for count more items
static void
s_list_reserve (store_object_t *object, size_t count)
{
    if (object->list_size + count <= object->list_limit)
        return;
    size_t limit = object->list_limit ? object->list_limit * 2 : 16;
    while (limit < object->list_size + count)
        limit *= 2;
    zframe_t **list =
        (zframe_t **) realloc (object->list, limit * sizeof (zframe_t *));
    assert (list);
    object->list = list;
    object->list_limit = limit;
}

//  Insert frame (taken) at position (0 to size)
static void
s_list_insert (zmp_store_t *store, store_object_t *object, size_t position,
               zframe_t **frame_p)
{
    s_list_reserve (object, 1);
    memmove (object->list + position + 1, object->list + position,
             (object->list_size - position) * sizeof (zframe_t *));
    object->list[position] = *frame_p;
    object->list_size++;
    store_bytes_add (store, object,
                     zframe_size (*frame_p) + ZMP_STORE_ITEM_OVERHEAD);
    *frame_p = NULL;
}

//  Remove the item at position; returns it (the caller destroys it)
static zframe_t *
s_list_remove (zmp_store_t *store, store_object_t *object, size_t position)
{
    zframe_t *frame = object->list[position];
    memmove (object->list + position, object->list + position + 1,
             (object->list_size - position - 1) * sizeof (zframe_t *));
    object->list_size--;
    store_bytes_sub (store, object,
                     zframe_size (frame) + ZMP_STORE_ITEM_OVERHEAD);
    return frame;
}

//  Split payload index (an array) into one frame per item, appended to
//  object. Returns false (call answered) if it is not an array or does not
//  fit.
static bool
s_list_extend (zmp_store_t *store, store_call_t *call, store_object_t *object,
               uint32_t index)
{
    zframe_t *frame = store_payload (store, call, index);
    if (!frame)
        return false;
    //  Each item costs its frame too: check what the header declares before
    //  unpacking makes room for them all
    uint64_t count = s_array_count (frame);
    if (count == UINT64_MAX) {
        store_reply_error (store, call, ZMP_ERR_BAD_ARGUMENTS,
                           "a list is extended with an array of items");
        return false;
    }
    if (!store_bytes_fit (
            store, call, zframe_size (frame) + count * ZMP_STORE_ITEM_OVERHEAD))
        return false;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    bool valid = zmp_value_unpack (&unpacked, zframe_data (frame),
                                   zframe_size (frame), NULL)
                     == 0
                 && unpacked.data.type == MSGPACK_OBJECT_ARRAY;
    if (!valid)
        store_reply_error (store, call, ZMP_ERR_BAD_ARGUMENTS,
                           "a list is extended with an array of items");
    else {
        const msgpack_object_array *items = &unpacked.data.via.array;
        s_list_reserve (object, items->size);
        store_packer_t out;
        msgpack_packer *packer = store_packer_init (&out);
        for (uint32_t item = 0; item < items->size; item++) {
            out.buffer.size = 0;
            msgpack_pack_object (packer, items->ptr[item]);
            zframe_t *one = zframe_new (out.buffer.data, out.buffer.size);
            s_list_insert (store, object, object->list_size, &one);
        }
        msgpack_sbuffer_destroy (&out.buffer);
    }
    msgpack_unpacked_destroy (&unpacked);
    return valid;
}

//  new list [+ items]
void
store_list_new (zmp_store_t *store, store_call_t *call, store_object_t *unused)
{
    (void) unused;
    store_object_t *object = store_object_new (store, call, ZMP_OBJECT_LIST);
    if (!object)
        return;
    if (zmsg_size (call->payloads) > 0
        && !s_list_extend (store, call, object, 0)) {
        //  Refused (and answered): the list must not outlive the call.
        //  Its creator's attach is its only reference; dropping it frees it
        zhashx_delete (call->peer->attached, (void *) (uintptr_t) object->id);
        zmp_store_release (store, object->id);
        return;
    }
    store_reply_handle (store, call, object);
}

//  append + [item]
void
store_list_append (zmp_store_t *store, store_call_t *call,
                   store_object_t *object)
{
    zframe_t *frame = store_payload (store, call, 0);
    if (!frame
        || !store_bytes_fit (store, call,
                             zframe_size (frame) + ZMP_STORE_ITEM_OVERHEAD))
        return;
    zmsg_remove (call->payloads, frame);
    s_list_insert (store, object, object->list_size, &frame);
    store_reply_nil (store, call);
}

//  extend + [items]
void
store_list_extend (zmp_store_t *store, store_call_t *call,
                   store_object_t *object)
{
    if (s_list_extend (store, call, object, 0))
        store_reply_nil (store, call);
}

//  insert [index] + [item]; the index is clamped, as in Python
void
store_list_insert (zmp_store_t *store, store_call_t *call,
                   store_object_t *object)
{
    int64_t index;
    if (!store_param_int (store, call, 0, &index))
        return;
    zframe_t *frame = store_payload (store, call, 0);
    if (!frame
        || !store_bytes_fit (store, call,
                             zframe_size (frame) + ZMP_STORE_ITEM_OVERHEAD))
        return;
    size_t from, to;
    s_slice (index, index, object->list_size, &from, &to);
    zmsg_remove (call->payloads, frame);
    s_list_insert (store, object, from, &frame);
    store_reply_nil (store, call);
}

//  The position params[0] names; false if call was answered
static bool
s_list_position (zmp_store_t *store, store_call_t *call, store_object_t *object,
                 size_t *position)
{
    int64_t index = -1;
    if (call->param_count > 0 && !store_param_int (store, call, 0, &index))
        return false;
    return s_index (store, call, index, object->list_size, position);
}

void
store_list_get (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    size_t position;
    if (s_list_position (store, call, object, &position))
        store_reply_frame (store, call, object->list[position]);
}

//  set [index] + [item]
void
store_list_set (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    size_t position;
    if (!s_list_position (store, call, object, &position))
        return;
    zframe_t *frame = store_payload (store, call, 0);
    if (!frame || !store_bytes_fit (store, call, zframe_size (frame)))
        return;
    zmsg_remove (call->payloads, frame);
    store_bytes_sub (store, object, zframe_size (object->list[position]));
    zframe_destroy (&object->list[position]);
    object->list[position] = frame;
    store_bytes_add (store, object, zframe_size (frame));
    store_reply_nil (store, call);
}

void
store_list_delete (zmp_store_t *store, store_call_t *call,
                   store_object_t *object)
{
    size_t position;
    if (!s_list_position (store, call, object, &position))
        return;
    zframe_t *frame = s_list_remove (store, object, position);
    zframe_destroy (&frame);
    store_reply_nil (store, call);
}

//  pop [index = -1]
void
store_list_pop (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    size_t position;
    if (!s_list_position (store, call, object, &position))
        return;
    zframe_t *frame = s_list_remove (store, object, position);
    store_reply_frame (store, call, frame);
    zframe_destroy (&frame);
}

void
store_list_len (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    store_reply_uint (store, call, object->list_size);
}

//  slice [start, stop] -> array
void
store_list_slice (zmp_store_t *store, store_call_t *call,
                  store_object_t *object)
{
    size_t from, to;
    if (!s_slice_params (store, call, object->list_size, &from, &to))
        return;
    store_packer_t out;
    msgpack_packer *packer = store_packer_init (&out);
    msgpack_pack_array (packer, to - from);
    for (size_t index = from; index < to; index++)
        msgpack_sbuffer_write (&out.buffer,
                               (const char *) zframe_data (object->list[index]),
                               zframe_size (object->list[index]));
    store_reply_packed (store, call, &out);
}

void
store_list_reverse (zmp_store_t *store, store_call_t *call,
                    store_object_t *object)
{
    for (size_t low = 0, high = object->list_size; low + 1 < high;
         low++, high--) {
        zframe_t *frame = object->list[low];
        object->list[low] = object->list[high - 1];
        object->list[high - 1] = frame;
    }
    store_reply_nil (store, call);
}

void
store_list_clear (zmp_store_t *store, store_call_t *call,
                  store_object_t *object)
{
    while (object->list_size) {
        zframe_t *frame = s_list_remove (store, object, object->list_size - 1);
        zframe_destroy (&frame);
    }
    store_reply_nil (store, call);
}

//  --------------------------------------------------------------------------
//  Deadlines and endings

void
store_data_free (zmp_store_t *store, store_object_t *object)
{
    if (object->kind == ZMP_OBJECT_PIPE)
        store_pipe_gone (store, object);
    if (object->kind == ZMP_OBJECT_DICT)
        s_dict_clear (store, object);
    //  The rest goes with the object; its bytes leave the count there
}
