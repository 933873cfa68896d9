# Sourced by scripts/test and .ci/run: finds the Python interpreters the differential tests
# need, creates one venv per Flask-Caching release with the pinned libraries from the
# package index (once; they are reused while their pins match), and exports the variables
# the tests read. Every interpreter found is *required* (FLASKCACHE_REQUIRE_*), so a test
# that cannot run its differential fails instead of passing silently; what cannot run on
# this machine at all is listed in FLASKCACHE_NOT_RUN with the way to include it.
# Needs: bash, a CPython 3.11 with venv and pip, network access to the package index.
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
declare -F step >/dev/null || step() { printf '\n=== %s\n' "$*"; }
declare -F die >/dev/null || die() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }
FLASKCACHE_NOT_RUN=()
not_run() { # what, how to include it
  FLASKCACHE_NOT_RUN+=("$1 (to include: $2)")
  echo "WARNING: $1"
}

# ---- Python: one venv per Flask-Caching profile, pinned, from the package index --------
# find_python X.Y [candidates...]: the first interpreter that really runs as Python X.Y.
find_python() {
  local want=$1 c; shift
  for c in "$@" "$(command -v "python$want" || true)" /root/.pyenv/versions/"$want".*/bin/python; do
    if [ -n "$c" ] && [ -x "$c" ] && [ "$("$c" -c "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])" 2>/dev/null </dev/null)" = "cpython $want" ]; then
      echo "$c"; return 0
    fi
  done
  echo ""
}
python311=$(find_python 3.11 "${FLASKCACHE_PYTHON311:-}" "${FLASKCACHE_BASE_PYTHON:-}" "$(command -v python3 || true)")
[ -n "$python311" ] || die "Python 3.11 is needed (the committed vectors are Python 3.11's); set FLASKCACHE_BASE_PYTHON"
# The CPython differential tests (engine/tests/repr_vs_cpython.rs) read these.
export FLASKCACHE_PYTHON311="$python311"
pins="flask==3.1.3 cachelib==0.17.0 werkzeug==3.1.9"
make_venv() { # dir python flask-caching-version
  local dir=$1 py=$2 fc=$3
  if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('flask-caching') != '$fc')" 2>/dev/null; then
    step "venv $dir: $("$py" --version) + flask-caching==$fc"
    rm -rf "$dir"
    "$py" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "flask-caching==$fc" $pins
  fi
}
make_venv "$root/.venv-fc25" "$python311" 2.5.1
make_venv "$root/.venv-fc24" "$python311" 2.4.1
# pytest, for recording a test suite (tests/suite_recording.rs: module mode and the plugin).
pytest_pins="pytest==8.3.4 pluggy==1.5.0 iniconfig==2.0.0 packaging==24.2"
for v in fc25 fc24; do
  if ! "$root/.venv-$v/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('pytest') != '8.3.4')" 2>/dev/null; then
    step "venv .venv-$v: + $pytest_pins"
    "$root/.venv-$v/bin/pip" install --quiet --disable-pip-version-check $pytest_pins
  fi
done
# RedisCache apps are recorded over fakeredis (its clock follows the recorder's virtual clock).
make_redis_venv() { # dir flask-caching-version
  local dir=$1 fc=$2
  if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c "import fakeredis, importlib.metadata as m, sys; sys.exit(m.version('flask-caching') != '$fc')" 2>/dev/null; then
    step "venv $dir: $("$python311" --version) + flask-caching==$fc + redis, fakeredis"
    rm -rf "$dir"
    "$python311" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "flask-caching==$fc" $pins \
      redis==8.1.0 fakeredis==2.40.0 sortedcontainers==2.4.0
  fi
}
make_redis_venv "$root/.venv-fc25-redis" 2.5.1
make_redis_venv "$root/.venv-fc24-redis" 2.4.1
export FLASKCACHE_PY_FC25_REDIS="$root/.venv-fc25-redis/bin/python"
export FLASKCACHE_PY_FC24_REDIS="$root/.venv-fc24-redis/bin/python"
export FLASKCACHE_REQUIRE_REDIS=1
export FLASKCACHE_PY_FC25="$root/.venv-fc25/bin/python"
export FLASKCACHE_PY_FC24="$root/.venv-fc24/bin/python"
# Python 3.12 prints OrderedDict differently (FC-2.3.1); use it when the machine has one.
python312=$(find_python 3.12 "${FLASKCACHE_PYTHON312:-}")
if [ -n "$python312" ]; then
  make_venv "$root/.venv-fc25-py312" "$python312" 2.5.1
  export FLASKCACHE_PY_FC25_PY312="$root/.venv-fc25-py312/bin/python"
  export FLASKCACHE_PYTHON312="$python312"
else
  not_run "no Python 3.12: the 3.12 vectors are checked but not regenerated, Value::repr for 3.12 is not compared with CPython" \
    "install Python 3.12 (pyenv install 3.12) or set FLASKCACHE_PYTHON312"
fi
# Flask-Cache 0.13 (the blog posts' release) runs on Python 3.7; use it when present.
python37=$(find_python 3.7 "${FLASKCACHE_PYTHON37:-}")
if [ -n "$python37" ]; then
  fc013_pins="flask-cache==0.13.1 flask==1.0.4 werkzeug==0.16.1 jinja2==2.11.3 markupsafe==1.1.1 itsdangerous==1.1.0 click==7.1.2"
  make_fc013_venv() { # dir description module-to-import extra-pins...
    local dir=$1 what=$2 module=$3; shift 3
    if [ ! -x "$dir/bin/python" ] || ! "$dir/bin/python" -c "import $module, flask_cache, sys; sys.exit(flask_cache.__version__ != '0.13.1')" 2>/dev/null; then
      step "venv $dir: $("$python37" --version) + flask-cache==0.13.1$what"
      rm -rf "$dir"
      "$python37" -m venv "$dir"
      "$dir/bin/pip" install --quiet --disable-pip-version-check $fc013_pins "$@"
    fi
  }
  make_fc013_venv "$root/.venv-fc013" "" sys
  export FLASKCACHE_PY_FC013="$root/.venv-fc013/bin/python"
  # CACHE_TYPE="redis" (Werkzeug's RedisCache) over fakeredis 2.37, the last for Python 3.7.
  make_fc013_venv "$root/.venv-fc013-redis" " + redis, fakeredis" fakeredis \
    redis==5.0.8 fakeredis==2.37.0 sortedcontainers==2.4.0 async-timeout==4.0.3 \
    typing-extensions==4.7.1 importlib-metadata==6.7.0 zipp==3.15.0
  export FLASKCACHE_PY_FC013_REDIS="$root/.venv-fc013-redis/bin/python"
  export FLASKCACHE_REQUIRE_PY37=1
else
  not_run "no Python 3.7: Flask-Cache 0.13 is not run (its vectors, flows and traces are checked but not re-recorded; its store differential does not run)" \
    "install Python 3.7 (pyenv install 3.7) or set FLASKCACHE_PYTHON37"
fi
# Python 3.13's repr tables differ (engine/tests/repr_vs_cpython.rs); use it when present.
python313=$(find_python 3.13 "${FLASKCACHE_PYTHON313:-}")
if [ -n "$python313" ]; then
  export FLASKCACHE_PYTHON313="$python313"
  export FLASKCACHE_REQUIRE_PY313=1
else
  not_run "no Python 3.13: Value::repr for Python 3.13 is not compared with CPython" \
    "install Python 3.13 (pyenv install 3.13) or set FLASKCACHE_PYTHON313"
fi
[ -n "$python312" ] && export FLASKCACHE_REQUIRE_PY312=1
export FLASKCACHE_REQUIRE_PYTHON=1

