#!/usr/bin/env bash
# The blog example: applies the models of models/, loads demo data through the debros CLI and
# runs a few queries. See README.md in this folder.
#
#   apps/examples/blog/load.sh            # against the node of `make run`
#   DEBROS_NODE=http://HOST:PORT DEBROS_TOKEN=... apps/examples/blog/load.sh
#
# Environment: DEBROS_NODE (default http://127.0.0.1:7700), DEBROS_TOKEN (default: the
# repository's data/admin.token when readable), DEBROS_CLI (default build/bin/debros),
# BLOG_VIEW=table (print the CLI's own tables instead of the short columns of view.py).
#
# Safe to run again: documents have fixed ids (users and categories are found by their unique
# username and slug), and what exists already is left alone. Any other failure stops the script
# with the CLI's error message and a non-zero exit status.
set -euo pipefail
# Command substitutions stop at their first failure too (bash clears -e in them otherwise).
shopt -s inherit_errexit

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cli="${DEBROS_CLI:-$root/build/bin/debros}"
export DEBROS_NODE="${DEBROS_NODE:-http://127.0.0.1:7700}"
if [[ -z "${DEBROS_TOKEN:-}" && -r "$root/data/admin.token" ]]; then
  DEBROS_TOKEN="$(<"$root/data/admin.token")"
  export DEBROS_TOKEN
fi

die() {
  echo "load.sh: $*" >&2
  exit 1
}
trap 'echo "load.sh: failed at line $LINENO" >&2' ERR

[[ -x "$cli" ]] || die "no CLI at $cli: build it with 'cmake --build build --target debros'"
"$cli" health >/dev/null || die "no node answers at $DEBROS_NODE: start one with 'make run'"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# -- helpers ------------------------------------------------------------------------------------

# A JSON string literal of $1 (the demo texts hold no control characters).
json_str() {
  local s="${1//\\/\\\\}"
  printf '"%s"' "${s//\"/\\\"}"
}

# exists MODEL ID: status 0 when the document exists, 1 when it does not; stops on any other
# error (the node down, a bad token, an unknown model).
exists() {
  local err
  if err="$("$cli" get "$1" "$2" 2>&1 >/dev/null)"; then
    return 0
  fi
  [[ "$err" == *"not_found"* ]] || die "debros get $1 $2: $err"
  return 1
}

# find_id MODEL FIELD VALUE: prints the id of the document whose FIELD equals VALUE (a unique
# field), or nothing.
find_id() {
  local ids
  ids="$("$cli" --format json query "$1" --where "$2 = $3" --limit 1 |
    sed -n 's/^ *"id": "\([^"]*\)",\{0,1\}$/\1/p')"
  printf '%s' "${ids%%$'\n'*}"
}

# ensure MODEL FIELD VALUE JSON: sets `ensured` to the id of the document with FIELD = VALUE
# (a unique field), created from JSON (which names its id) when there is none.
ensured=""
ensure() {
  ensured="$(find_id "$1" "$2" "$3")"
  if [[ -n "$ensured" ]]; then
    echo "  exists  $1 $ensured ($2 $3)"
    return
  fi
  ensured="$("$cli" --format json create "$1" "$4" | sed -n 's/^  "id": "\([^"]*\)",\{0,1\}$/\1/p')"
  [[ -n "$ensured" ]] || die "debros create $1 printed no id"
  echo "  created $1 $ensured ($2 $3)"
}

# Prints a command line the way a reader would type it.
show_command() {
  local out="\$ debros" a
  for a in "$@"; do
    if [[ "$a" == *[[:space:]\"]* ]]; then out+=" '$a'"; else out+=" $a"; fi
  done
  echo "$out"
}

# run_query HEADING "COLUMN..." ARGS...: prints the heading and the command, then the result,
# as view.py's short columns when python3 is there (BLOG_VIEW=table: the CLI's own table).
run_query() {
  local heading="$1" columns="$2"
  shift 2
  echo
  echo "== $heading =="
  show_command "$@"
  if [[ "${BLOG_VIEW:-}" == table ]] || ! command -v python3 >/dev/null; then
    "$cli" "$@"
  else
    # shellcheck disable=SC2086 # the columns are words without spaces
    "$cli" --format json "$@" | python3 "$here/view.py" $columns
  fi
}

# -- models -------------------------------------------------------------------------------------

echo "== Models (debros model apply) =="
for model in User Category Post Comment; do
  "$cli" model apply "$here/models/$model.json" | sed 's/^/  /'
done

# -- users and categories (global models) -------------------------------------------------------

echo "== Users and categories (debros create) =="
declare -A uid cat_id
user() { # user USERNAME EMAIL DISPLAY_NAME BIO
  ensure User username "$1" "{\"id\": $(json_str "$1"), \"username\": $(json_str "$1"),
    \"email\": $(json_str "$2"), \"displayName\": $(json_str "$3"), \"bio\": $(json_str "$4")}"
  uid[$1]="$ensured"
}
user alice alice@example.com "Alice Chen" "Writes about actors, storage engines and fsync."
user bob bob@example.com "Bob Okafor" "Travels slowly, bakes bread, writes about both."
user carol carol@example.com "Carol Díaz" "Self-hosts everything. Cooks on weekends."

category() { # category SLUG NAME DESCRIPTION COLOR
  ensure Category slug "$1" "{\"id\": $(json_str "$1"), \"name\": $(json_str "$2"),
    \"slug\": $(json_str "$1"), \"description\": $(json_str "$3"), \"color\": $(json_str "$4")}"
  cat_id[$1]="$ensured"
}
category technology Technology "Software, systems and the tools we build with." "#1f6feb"
category travel Travel "Places, trains and what to pack." "#2da44e"
category food "Food & Cooking" "Recipes that worked, and some that did not." "#bf8700"

# -- posts (user-scoped: one import, several users' databases) ----------------------------------

posts="$tmp/posts.jsonl"
: >"$posts"
present=0
# post ID OWNER CATEGORY PUBLISHED_AT|- VIEWS/LIKES TITLE SLUG TAGS(comma-separated) EXCERPT CONTENT
# PUBLISHED_AT "-" makes a private draft; a date makes a public, published post.
post() {
  if exists Post "$1"; then
    present=$((present + 1))
    return
  fi
  local owner="${uid[$2]}" visibility tags
  if [[ "$4" == - ]]; then
    visibility='"isPublic": false, "status": "draft"'
  else
    visibility="\"isPublic\": true, \"status\": \"published\", \"publishedAt\": $4"
  fi
  tags="[\"${8//,/\", \"}\"]"
  local format='{"id": %s, "userId": %s, "authorId": %s, "categoryId": %s, %s, "viewCount": %s, '
  format+='"likeCount": %s, "title": %s, "slug": %s, "tags": %s, "excerpt": %s, "content": %s}\n'
  # shellcheck disable=SC2059 # the format is the constant above
  printf "$format" \
    "$(json_str "$1")" "$(json_str "$owner")" "$(json_str "$owner")" "$(json_str "${cat_id[$3]}")" \
    "$visibility" "${5%/*}" "${5#*/}" "$(json_str "$6")" "$(json_str "$7")" "$tags" \
    "$(json_str "$9")" "$(json_str "${10}")" >>"$posts"
}
# Publication dates are fixed (March 2024) so that every run shows the same order.
post post-alice-actors alice technology 1709370000000 412/37 "Actors all the way down" \
  actors-all-the-way-down actors,caf "Why every partition of data is an actor." \
  "Each shard and each user's database is an actor that owns its LMDB state. Messages, not locks."
post post-bob-lisbon bob travel 1709663400000 268/22 "A week in Lisbon" a-week-in-lisbon \
  lisbon,trains "Seven days, one tram line and too many pastries." \
  "We took the night train, stayed in Alfama and rode tram 28 end to end twice."
post post-carol-cloud carol technology 1709882100000 530/61 "Why I moved my blog off the cloud" \
  moving-off-the-cloud self-hosting,ops "One small server, one data directory." \
  "The bill went down, the latency went down, and backups are a copy of one directory."
post post-alice-lmdb alice technology 1710158400000 344/29 "What LMDB taught me about fsync" \
  lmdb-and-fsync lmdb,durability "One fsync per commit, and how group commit shares it." \
  "A commit costs one fsync whatever it holds, so the writer batches every queued request."
post post-bob-sourdough bob food 1710449100000 189/18 "Sourdough, attempt three" \
  sourdough-attempt-three bread,baking "Wetter dough, longer proof, better crumb." \
  "Attempt one was a brick, attempt two a pancake. Attempt three is bread."
post post-carol-pasta carol food 1710583200000 97/9 "Fresh pasta without a machine" \
  pasta-without-a-machine pasta,recipes "Flour, eggs, a rolling pin and patience." \
  "Rest the dough for half an hour; it rolls thinner than you expect."
post post-alice-sharding alice technology - 0/0 "Draft: sharding by user" sharding-by-user \
  sharding,design "Notes, not yet a post." \
  "Per-user databases, global indexes, and when to use each."
post post-bob-porto bob travel - 0/0 "Draft: packing list for Porto" packing-list-porto \
  porto,packing "Half a list." "Rain jacket. Comfortable shoes. An empty bag for the way back."

echo "== Posts (debros import: one batch for every user's database) =="
if [[ -s "$posts" ]]; then
  "$cli" import Post "$posts" | sed 's/^/  /'
fi
echo "  $present posts were there already"

# -- comments (user-scoped: each in its commenter's database) -----------------------------------

echo "== Comments (debros create) =="
comment() { # comment ID COMMENTER POST_ID CONTENT [PARENT_ID]
  if exists Comment "$1"; then
    echo "  exists  Comment $1"
    return
  fi
  local parent=""
  [[ -z "${5:-}" ]] || parent=", \"parentId\": $(json_str "$5")"
  "$cli" create Comment "{\"id\": $(json_str "$1"), \"userId\": $(json_str "${uid[$2]}"),
    \"authorId\": $(json_str "${uid[$2]}"), \"postId\": $(json_str "$3"),
    \"content\": $(json_str "$4")$parent}" >/dev/null
  echo "  created Comment $1 ($2 on $3)"
}
comment comment-actors-1 bob post-alice-actors \
  "Clear intro. What happens when an actor crashes mid-write?"
comment comment-actors-2 alice post-alice-actors \
  "Nothing acknowledged is lost: the writer answers only after the commit." comment-actors-1
comment comment-actors-3 carol post-alice-actors "Bookmarked for the weekend."
comment comment-lisbon-1 alice post-bob-lisbon "The tram 28 photo is great."
comment comment-cloud-1 bob post-carol-cloud "What does the monthly bill look like now?"
comment comment-sourdough-1 carol post-bob-sourdough "Try a longer cold proof, overnight."

# -- queries ------------------------------------------------------------------------------------

run_query "1. Public posts of every user, newest first (global index on Post.isPublic)" \
  "id published=publishedAt@date owner=userId likes=likeCount title" \
  query Post --where "isPublic = true" --order "publishedAt desc"

run_query "2. The three most liked public posts (sorted and limited across users)" \
  "id likes=likeCount views=viewCount owner=userId title" \
  query Post --where "isPublic = true" --order "likeCount desc" --limit 3

run_query "3. One user's posts, drafts included (--user: only bob's database)" \
  "id status published=publishedAt@date title" \
  query Post --user "${uid[bob]}" --order "publishedAt desc"

run_query "4. Public technology posts with their author and category (--with: belongsTo)" \
  "id author=author.displayName category=category.name title" \
  query Post --where "isPublic = true" --where "categoryId = ${cat_id[technology]}" \
  --order "publishedAt desc" --with author --with category

run_query "5. A post with its comments and their authors (--with comments.author: nested)" \
  "id author=author.displayName title --each comments author.displayName content" \
  get Post post-alice-actors --with author --with comments.author

run_query "6. A user with their posts (--with posts: hasMany across users' databases)" \
  "id displayName --each posts status title" \
  query User --where "username = alice" --with posts

echo
echo "== 7. Total likes of the public posts (--aggregate) =="
show_command query Post --where "isPublic = true" --aggregate "sum likeCount"
"$cli" query Post --where "isPublic = true" --aggregate "sum likeCount"

echo
echo "== 8. How many documents each model holds (debros model show) =="
for model in User Category Post Comment; do
  count="$("$cli" model show "$model" | awk '$1 == "count" { print $2 }')"
  printf '  %-9s %s\n' "$model" "$count"
done
