// Model definitions (messages/model_parse.cpp, model.hpp): the JSON of POST /v1/models through
// parse_model, its canonical form, compilation (regexes) and validation of a document. The
// input is a model definition, or [definition, document] to validate that document too.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "messages/json.hpp"
#include "messages/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace debros;
  auto json = parse_json(fuzz::as_text(data, size));
  if (!json)
    return 0;
  const value* def_json = &*json;
  const value* doc = nullptr;
  if (json->is_array() && json->as_array().size() == 2) {
    def_json = &json->as_array()[0];
    doc = &json->as_array()[1];
  }
  auto def = parse_model("Fuzz", *def_json);
  if (!def)
    return 0;
  auto text = to_json(*json);
  auto canonical = to_value(*def);
  auto again = parse_model("Fuzz", canonical);
  fuzz::check(static_cast<bool>(again), "the canonical form of a model does not parse", text);
  fuzz::check(same_definition(*def, *again), "the canonical form of a model is not stable", text);
  auto compiled = compiled_model::compile(*def);
  fuzz::check(static_cast<bool>(compiled), "a parsed model does not compile", text);
  if (doc) {
    for (auto mode : {write_mode::create, write_mode::replace, write_mode::patch}) {
      value d = *doc;
      (void)(*compiled)->validate(d, mode);
    }
  }
  return 0;
}
