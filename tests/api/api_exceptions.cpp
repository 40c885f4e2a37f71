// The compile test of docs/API.md's exception rows (see api_names.cpp): built as a program that
// opts in to exceptions is (toro_eh_dep's flags), where <toro.h> declares the classes. Nothing
// here runs; the behaviour is TestProcess's TestExceptions-* and ExceptionHandling.
#include <toro.h>

#include <type_traits>

static_assert(std::is_same_v<decltype(Exception::Message), const char*>);
static_assert(std::is_base_of_v<Exception, EExternal>);
static_assert(std::is_base_of_v<EExternal, EDivByZero> && std::is_base_of_v<EExternal, EAccessViolation> &&
              std::is_base_of_v<EExternal, EIntOverflow> && std::is_base_of_v<EExternal, ERangeError> &&
              std::is_base_of_v<EExternal, EIllegalInstruction> && std::is_base_of_v<EExternal, EInvalidOp> &&
              std::is_base_of_v<EExternal, EStackOverflow>);

// A catch clause as a ported `try ... except on E: EDivByZero do` writes it.
const char* ApiExceptionMessage(void (*body)()) {
  try {
    body();
  } catch (const EExternal& E) {
    return E.ExceptionAddress() != 0 ? E.Message : nullptr;
  } catch (const Exception& E) {
    return E.Message;
  }
  return nullptr;
}
