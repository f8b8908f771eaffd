"""Declares the optional compiled accelerator; everything else is in pyproject.toml.

Without a C compiler the build goes on (``optional=True``) and the CLI uses its
pure-Python paths: the same results, more slowly (see bench/README.md).

Build switches (environment variables read at build time, for development only):

``CSC_SANITIZE=1``
    Compile and link ``_native`` with AddressSanitizer and UndefinedBehaviorSanitizer
    (``-O1 -g``, frame pointers kept, every UB report fatal). Python itself is
    not instrumented, so run it with the ASan runtime preloaded; ``make sanitize``
    does all of that. A sanitizer build that fails to compile is an error, never
    silently skipped. ``CSC_SANITIZE=fuzzer`` also adds ``-fsanitize=fuzzer-no-link``
    (libFuzzer coverage of the C code for atheris; clang only, so use ``CC=clang``).
``CSC_REQUIRE_NATIVE=1``
    A build of ``_native`` that fails is an error, not a fall-back to the
    pure-Python paths (nor, in an editable install, to the ``_native`` built
    before, which would stay in place). ``make test`` sets it when a C
    compiler is found, so C that does not compile fails the gate rather than
    leaving the compiled engine's tests skipped or run on stale code.
``CSC_WEAK_HASH=1``
    Define the C macro ``CSC_WEAK_HASH``, which keeps only 4 bits of every hash
    the compiled core makes, so the code that runs after two different keys
    hash alike runs all the time (the tests also reach it at run time, with
    the scanner's ``weak_bits``).
"""

import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError, LinkError

NATIVE = "src/connector_sync_contracts/_engine/native"
SOURCES = (
    "module",
    "spec",
    "hash",
    "json",
    "scan",
    "store",
    "fold",
    "objects",
    "route",
    "cloudevents",
    "listing",
)

SANITIZE = os.environ.get("CSC_SANITIZE", "")
WEAK_HASH = os.environ.get("CSC_WEAK_HASH") == "1"
REQUIRE_NATIVE = os.environ.get("CSC_REQUIRE_NATIVE") == "1"

if SANITIZE not in ("", "0", "1", "fuzzer"):
    raise SystemExit(f"CSC_SANITIZE must be 1 or fuzzer, not {SANITIZE!r}")

sanitizers = ["address", "undefined"]
if SANITIZE == "fuzzer":
    sanitizers.insert(0, "fuzzer-no-link")
sanitize = SANITIZE in ("1", "fuzzer")

warnings = ["-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
compile_args = [
    "-O3",
    # Only PyInit__native is exported: calls between the core's files then go
    # straight to the function, not through the PLT.
    "-fvisibility=hidden",
    *warnings,
]
link_args: list[str] = []
# Link-time optimization lets the compiler inline across the core's files
# (the line scanner calls the JSON reader's helpers once per token): about 8%
# fewer instructions per line (bench/README.md). A compiler or linker without
# it gets the same build without these flags (BuildExt below).
LTO_COMPILE = ["-flto"]
LTO_LINK = ["-flto", "-O3"]
if sanitize:
    flags = [f"-fsanitize={','.join(sanitizers)}", "-fno-omit-frame-pointer"]
    # -fno-wrapv undoes the -fwrapv of Python's own CFLAGS, which makes signed
    # overflow defined (wrapping) and so invisible to UBSan.
    compile_args = [*flags, "-fno-sanitize-recover=undefined", "-fno-wrapv", "-O1", "-g"]
    # The developers' build fails on any warning: a function that ends without
    # its return value is undefined behaviour UBSan does not see in C.
    compile_args += [*warnings, "-Werror"]
    compile_args.append("-fvisibility=hidden")
    compile_args.append("-UNDEBUG")
    link_args = flags

define_macros: list[tuple[str, str | None]] = []
if WEAK_HASH:
    # Makes the C hashes deliberately poor, so equal hashes of different
    # strings/event ids/deliveries happen all the time and the code paths that
    # compare the bytes after a hash match get exercised (the C code reads
    # this macro once it is rewritten; defining it now is harmless).
    define_macros.append(("CSC_WEAK_HASH", "1"))

# A special build (sanitizers, weak hashes) has its own build folder and always
# recompiles, so it never reuses (or leaves behind for a normal build) an object
# built with other flags.
parts = ["sanitize"] if sanitize else []
if SANITIZE == "fuzzer":
    parts.append("fuzzer")
if WEAK_HASH:
    parts.append("weak-hash")
variant = "-".join(parts)


class BuildExt(build_ext):
    """Builds ``_native`` with link-time optimization, else without it.

    Only the normal build tries LTO; a sanitizer build keeps its own flags.
    Should the build without LTO fail too, ``optional=True`` leaves the
    package on its pure-Python paths, as without a compiler.
    """

    def build_extension(self, ext: Extension) -> None:
        if sanitize:
            super().build_extension(ext)
            return
        plain_compile, plain_link = list(ext.extra_compile_args), list(ext.extra_link_args)
        ext.extra_compile_args = plain_compile + LTO_COMPILE
        ext.extra_link_args = plain_link + LTO_LINK
        try:
            super().build_extension(ext)
        except (CompileError, LinkError) as error:
            print(
                f"building {ext.name} with link-time optimization failed ({error}); "
                "building it without"
            )
            ext.extra_compile_args, ext.extra_link_args = plain_compile, plain_link
            self.force = True
            super().build_extension(ext)


options = {"build": {"build_base": f"build/{variant}"}, "build_ext": {"force": True}}

setup(
    cmdclass={"build_ext": BuildExt},
    options=options if variant else {},
    ext_modules=[
        Extension(
            "connector_sync_contracts._engine.native._native",
            sources=[f"{NATIVE}/{name}.c" for name in SOURCES],
            depends=[f"{NATIVE}/csc.h"],
            # A normal install works without a compiler; a sanitizer build
            # that does not compile must fail loudly instead.
            optional=not (sanitize or REQUIRE_NATIVE),
            extra_compile_args=compile_args,
            extra_link_args=link_args,
            define_macros=define_macros,
        )
    ],
)
