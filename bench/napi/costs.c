// Micro-benchmark of the Node-API primitives a tensor wrapper can be built from (no LibTorch): what each costs
// per object on this Node. Built and run by bench/napi/costs.js.
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static const napi_type_tag kTag = {0x7467726166745445ULL, 0x6e736f7231333131ULL};
static napi_ref ctorRef, symRef;
static int mode = 0;
static double counter = 0;

static void Free(napi_env env, void* data, void* hint) { free(data); }

// The class constructor: what `mode` says is attached to each new instance.
static napi_value Construct(napi_env env, napi_callback_info info) {
  napi_value self, key, num;
  napi_get_cb_info(env, info, NULL, NULL, &self, NULL);
  switch (mode) {
    case 1:  // napi_wrap with a finalizer (what ObjectWrap does)
      napi_wrap(env, self, malloc(16), Free, NULL, NULL);
      break;
    case 2:  // napi_type_tag_object
      napi_type_tag_object(env, self, &kTag);
      break;
    case 3:  // napi_wrap + type tag (torchgraft before)
      napi_wrap(env, self, malloc(16), Free, NULL, NULL);
      napi_type_tag_object(env, self, &kTag);
      break;
    case 4:  // a read-only symbol-keyed number (torchgraft after)
      napi_get_reference_value(env, symRef, &key);
      napi_create_double(env, ++counter, &num);
      {
        napi_property_descriptor d = {NULL, key, NULL, NULL, NULL, num, napi_default, NULL};
        napi_define_properties(env, self, 1, &d);
      }
      break;
    case 5:  // the same, writable (napi_set_property)
      napi_get_reference_value(env, symRef, &key);
      napi_create_double(env, ++counter, &num);
      napi_set_property(env, self, key, num);
      break;
    case 6:  // napi_add_finalizer only (a GC safety net without unwrap)
      napi_add_finalizer(env, self, malloc(16), Free, NULL, NULL);
      break;
  }
  return self;
}

static napi_value Make(napi_env env, napi_callback_info info) {
  napi_value ctor, obj;
  napi_get_reference_value(env, ctorRef, &ctor);
  napi_new_instance(env, ctor, 0, NULL, &obj);
  return obj;
}

static napi_value SetMode(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a;
  napi_get_cb_info(env, info, &argc, &a, NULL, NULL);
  napi_get_value_int32(env, a, &mode);
  return NULL;
}

static napi_value Bare(napi_env env, napi_callback_info info) { return NULL; }

// check(obj, how): 0 typeof only, 1 type tag, 2 napi_unwrap, 3 symbol property read, 4 napi_instanceof,
// 5 napi_get_instance_data
static int instanceData;
static napi_value Check(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2], key, v;
  napi_get_cb_info(env, info, &argc, a, NULL, NULL);
  int32_t how;
  napi_get_value_int32(env, a[1], &how);
  bool ok = false;
  napi_valuetype t;
  napi_typeof(env, a[0], &t);
  if (how == 1) napi_check_object_type_tag(env, a[0], &kTag, &ok);
  if (how == 2) {
    void* p;
    ok = napi_unwrap(env, a[0], &p) == napi_ok;
  }
  if (how == 3) {
    double d;
    napi_get_reference_value(env, symRef, &key);
    napi_get_property(env, a[0], key, &v);
    ok = napi_get_value_double(env, v, &d) == napi_ok;
  }
  if (how == 4) {
    napi_value ctor;
    napi_get_reference_value(env, ctorRef, &ctor);
    napi_instanceof(env, a[0], ctor, &ok);
  }
  if (how == 5) {
    void* p;
    napi_get_instance_data(env, &p);
    ok = p == &instanceData;
  }
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value ctor, sym, f;
  napi_set_instance_data(env, &instanceData, NULL, NULL);
  napi_define_class(env, "W", NAPI_AUTO_LENGTH, Construct, NULL, 0, NULL, &ctor);
  napi_create_reference(env, ctor, 1, &ctorRef);
  napi_create_symbol(env, NULL, &sym);
  napi_create_reference(env, sym, 1, &symRef);
  napi_create_function(env, "make", NAPI_AUTO_LENGTH, Make, NULL, &f);
  napi_set_named_property(env, exports, "make", f);
  napi_create_function(env, "setMode", NAPI_AUTO_LENGTH, SetMode, NULL, &f);
  napi_set_named_property(env, exports, "setMode", f);
  napi_create_function(env, "bare", NAPI_AUTO_LENGTH, Bare, NULL, &f);
  napi_set_named_property(env, exports, "bare", f);
  napi_create_function(env, "check", NAPI_AUTO_LENGTH, Check, NULL, &f);
  napi_set_named_property(env, exports, "check", f);
  return exports;
}
