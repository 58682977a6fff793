
use builtin;
use str;

set edit:completion:arg-completer[arena] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'arena'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'arena'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand --models 'The models file, models.json (or ARENA_MODELS). Give it before the subcommand'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand init 'Write a commented config.jsonc and a models.json template into the config directory'
            cand battle 'Start a blind battle between two models, then vote'
            cand vote 'Vote on a battle and reveal its models'
            cand show 'Show one battle (model names stay hidden until it has a vote)'
            cand battles 'List battles'
            cand unstuck 'Clear battles stuck in pending_generation'
            cand import 'Import battle records (FastChat/LMArena clean_battle JSON, JSON Lines, or CSV)'
            cand export 'Export battles, votes or the leaderboard (JSON Lines, CSV or JSON)'
            cand leaderboard 'Show the leaderboard'
            cand stats 'Statistics: win-rate and match-count matrices, per-prompt figures'
            cand models 'The model pool: list, check upstreams, sync upstream model lists'
            cand prompts 'The prompt pool: list, add, import, remove'
            cand serve 'Serve the REST API over HTTP (127.0.0.1:5103 unless told otherwise)'
            cand keys 'The server''s API keys: add (user or service), list, revoke'
            cand rebuild 'Recompute the running counts and online Elo from the votes table'
            cand migrate 'Copy a whole database to another (SQLite to PostgreSQL, or back to a file); resumable'
            cand trust 'Trust config.jsonc or models.json of the current directory (by path and content)'
            cand completions 'Print a shell completion script'
            cand generate-completions 'Write every completion script into a directory (used to refresh completions/)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'arena;init'= {
            cand --dir 'Write into this directory [default: the config directory]'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand --force 'Overwrite existing files'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;battle'= {
            cand --prompt-file 'Read the question from a file (its final line ends are dropped)'
            cand --theme 'With --random-prompt: only prompts of this theme'
            cand --models 'Pin the two models by name, e.g. --models gpt-4o,claude-3-opus (sides are still random). The models file itself is given before the subcommand: arena --models FILE battle'
            cand --pair 'Pin the two models by name, e.g. --models gpt-4o,claude-3-opus (sides are still random). The models file itself is given before the subcommand: arena --models FILE battle'
            cand --tier 'Draw both models from this tier'
            cand --system 'A system message for both models'
            cand --temperature 'Sampling temperature passed to both models, from 0 to 2'
            cand --max-tokens 'Maximum answer length in tokens, passed to both models'
            cand --user 'Who is asking (stored only as a salted hash), e.g. cli:alice'
            cand --format 'Output format (`table` is for people; json and jsonl for scripts)'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand --random-prompt 'Take a random question from the prompt pool'
            cand --no-vote 'Do not ask for a vote: print the battle id (or the battle with --format json) and exit'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;vote'= {
            cand --user 'Who votes (stored only as a salted hash)'
            cand --format 'Output format (`table` is for people; json and jsonl for scripts)'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;show'= {
            cand --format 'Output format (`table` is for people; json and jsonl for scripts)'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;battles'= {
            cand --status 'Only battles in this state'
            cand --model 'Only battles of this model (matches voted battles'' models only)'
            cand --since 'Only battles created at or after this time (RFC 3339, e.g. 2026-01-31T00:00:00Z, or a date)'
            cand --limit 'At most this many battles, newest first'
            cand --format 'Output format'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;unstuck'= {
            cand --user 'Only this user''s battles (default: everyone''s)'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;import'= {
            cand --input-format 'The file''s format [default: by extension, then by its first character]'
            cand --column 'A field under another name, e.g. --column model_a=left (fields: model_a, model_b, winner, tstamp, judge, question_id, battle_id, vote_id); repeatable'
            cand --winner-value 'A winner value that means an outcome, e.g. --winner-value left=model_a (outcomes: model_a, model_b, tie, both_bad, skip); repeatable'
            cand --format 'Output format (`table` is for people; json and jsonl for scripts)'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;export'= {
            cand --format 'Output format'
            cand -o 'Write to this file instead of stdout'
            cand --output 'Write to this file instead of stdout'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'arena;leaderboard'= {
            cand --method 'Rating method'
            cand --bootstrap 'Bootstrap rounds for the confidence intervals of bt (0 = sandwich estimator only) [default: 100]'
            cand --seed 'Seed of the bootstrap of bt [default: 0]'
            cand --ci 'Coverage of the confidence intervals of bt and glicko2 [default: 0.95]'
            cand --anchor 'Shift bt ratings so that MODEL has RATING, e.g. --anchor mixtral-8x7b-instruct-v0.1=1114'
            cand --min-battles 'Leave out models with fewer battles (and their votes)'
            cand --style-control 'Control for style (answer length and Markdown): the contextual Bradley-Terry model of arena-rank (the default) or FastChat''s; the board shows the style coefficients and each model''s rank change against the plain board'
            cand --since 'Only votes at or after this time (a date such as 2026-01-31, or RFC 3339)'
            cand --until 'Only votes before this time (a date or RFC 3339)'
            cand --tier 'Only battles between models of this tier (tiers come from models.json)'
            cand --theme 'Only battles on prompts of this theme'
            cand --category 'Only votes in this category (repeatable: votes in every one named), e.g. coding, long_query, multiturn, language:en; `arena leaderboard --categories` lists them'
            cand --exclude-category 'Leave out votes in this category (repeatable)'
            cand -o 'Write to this file instead of stdout'
            cand --output 'Write to this file instead of stdout'
            cand --format 'Output format'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand --categories 'One line per category instead of the board: its votes, its top model and that model''s rank change against the board of all votes'
            cand --include-identity-leaks 'Count the votes whose answers named a model (kept, but left out by default)'
            cand --include-named 'Count the side-by-side votes of the web page, cast with the models named (kept, but left out by default)'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'arena;stats'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
            cand matrix 'Win-rate and match-count matrices between models'
            cand prompts 'Per-prompt battle counts and win rates, most battles first'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'arena;stats;matrix'= {
            cand --top 'Only the N models with the most battles (needed above 500 models)'
            cand --since 'Only votes at or after this time (a date such as 2026-01-31, or RFC 3339)'
            cand --until 'Only votes before this time (a date or RFC 3339)'
            cand --tier 'Only battles between models of this tier (tiers come from models.json)'
            cand --theme 'Only battles on prompts of this theme'
            cand --category 'Only votes in this category (repeatable: votes in every one named), e.g. coding, long_query, multiturn, language:en; `arena leaderboard --categories` lists them'
            cand --exclude-category 'Leave out votes in this category (repeatable)'
            cand --format 'Output format'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand --include-identity-leaks 'Count the votes whose answers named a model (kept, but left out by default)'
            cand --include-named 'Count the side-by-side votes of the web page, cast with the models named (kept, but left out by default)'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;stats;prompts'= {
            cand --since 'Only votes at or after this time (a date such as 2026-01-31, or RFC 3339)'
            cand --until 'Only votes before this time (a date or RFC 3339)'
            cand --tier 'Only battles between models of this tier (tiers come from models.json)'
            cand --theme 'Only battles on prompts of this theme'
            cand --category 'Only votes in this category (repeatable: votes in every one named), e.g. coding, long_query, multiturn, language:en; `arena leaderboard --categories` lists them'
            cand --exclude-category 'Leave out votes in this category (repeatable)'
            cand --format 'Output format'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand --include-identity-leaks 'Count the votes whose answers named a model (kept, but left out by default)'
            cand --include-named 'Count the side-by-side votes of the web page, cast with the models named (kept, but left out by default)'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;stats;help'= {
            cand matrix 'Win-rate and match-count matrices between models'
            cand prompts 'Per-prompt battle counts and win rates, most battles first'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'arena;stats;help;matrix'= {
        }
        &'arena;stats;help;prompts'= {
        }
        &'arena;stats;help;help'= {
        }
        &'arena;models'= {
            cand --format 'Output format'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'List the pool with tier, weight, endpoint and battles (the default)'
            cand check 'Call each model once and report latency or the error'
            cand sync 'Fetch each upstream''s /v1/models into available_models.json of the data directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'arena;models;list'= {
            cand --format 'Output format'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;models;check'= {
            cand --format 'Output format'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;models;sync'= {
            cand -o 'Where to write [default: available_models.json in the data directory]'
            cand --output 'Where to write [default: available_models.json in the data directory]'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;models;help'= {
            cand list 'List the pool with tier, weight, endpoint and battles (the default)'
            cand check 'Call each model once and report latency or the error'
            cand sync 'Fetch each upstream''s /v1/models into available_models.json of the data directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'arena;models;help;list'= {
        }
        &'arena;models;help;check'= {
        }
        &'arena;models;help;sync'= {
        }
        &'arena;models;help;help'= {
        }
        &'arena;prompts'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'List the pool'
            cand add 'Add one prompt'
            cand import 'Import a prompt set: {"prompts": {id: text}}, [{id, text, theme}] or JSON Lines'
            cand remove 'Remove a prompt by id'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'arena;prompts;list'= {
            cand --theme 'Only this theme'
            cand --format 'Output format'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;prompts;add'= {
            cand --id 'Its id [default: a hash of the text]'
            cand --theme 'Its theme [default: the id''s prefix before `_`, else general]'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;prompts;import'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;prompts;remove'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;prompts;help'= {
            cand list 'List the pool'
            cand add 'Add one prompt'
            cand import 'Import a prompt set: {"prompts": {id: text}}, [{id, text, theme}] or JSON Lines'
            cand remove 'Remove a prompt by id'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'arena;prompts;help;list'= {
        }
        &'arena;prompts;help;add'= {
        }
        &'arena;prompts;help;import'= {
        }
        &'arena;prompts;help;remove'= {
        }
        &'arena;prompts;help;help'= {
        }
        &'arena;serve'= {
            cand --host 'The address to listen on [default: host in config.jsonc, 127.0.0.1]; anything but this machine must be given here'
            cand --port 'The port [default: battle_server_port in config.jsonc, 5103]; 0 picks a free one'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;keys'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
            cand add 'Add a key and print it (shown only this once; only its hash is kept)'
            cand list 'List the keys: name, kind, created, last used, revoked (never a key)'
            cand revoke 'Revoke a key: a running server refuses it from its next request on'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'arena;keys;add'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand --service 'A service key: acts for the users its requests name (a bot, a chat front end), rather than being one user'
            cand --trust-forwarded-user 'The service key may name its user with Open WebUI''s X-OpenWebUI-User-Id header (turn on ENABLE_FORWARD_USER_INFO_HEADERS in Open WebUI)'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;keys;list'= {
            cand --format 'Output format'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;keys;revoke'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;keys;help'= {
            cand add 'Add a key and print it (shown only this once; only its hash is kept)'
            cand list 'List the keys: name, kind, created, last used, revoked (never a key)'
            cand revoke 'Revoke a key: a running server refuses it from its next request on'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'arena;keys;help;add'= {
        }
        &'arena;keys;help;list'= {
        }
        &'arena;keys;help;revoke'= {
        }
        &'arena;keys;help;help'= {
        }
        &'arena;rebuild'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;migrate'= {
            cand --from 'The database to copy: a path, sqlite://PATH or postgres://... (read only)'
            cand --to 'Where to copy it: empty, or a copy of the same database cut short'
            cand --page-rows 'Rows a page (one transaction on the destination)'
            cand --stop-after-pages 'Stop after this many pages, as a copy cut short would (for tests of resuming)'
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;trust'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand --list 'List the trusted files'
            cand --revoke 'Withdraw trust from these files instead'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;completions'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;generate-completions'= {
            cand --db 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]'
            cand --config 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]'
            cand --color 'When to use colour'
            cand -v 'Say more (which files are used, upstream details); repeat for more'
            cand --verbose 'Say more (which files are used, upstream details); repeat for more'
            cand -q 'Print only results and errors'
            cand --quiet 'Print only results and errors'
            cand --no-progress 'Never draw progress bars'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'arena;help'= {
            cand init 'Write a commented config.jsonc and a models.json template into the config directory'
            cand battle 'Start a blind battle between two models, then vote'
            cand vote 'Vote on a battle and reveal its models'
            cand show 'Show one battle (model names stay hidden until it has a vote)'
            cand battles 'List battles'
            cand unstuck 'Clear battles stuck in pending_generation'
            cand import 'Import battle records (FastChat/LMArena clean_battle JSON, JSON Lines, or CSV)'
            cand export 'Export battles, votes or the leaderboard (JSON Lines, CSV or JSON)'
            cand leaderboard 'Show the leaderboard'
            cand stats 'Statistics: win-rate and match-count matrices, per-prompt figures'
            cand models 'The model pool: list, check upstreams, sync upstream model lists'
            cand prompts 'The prompt pool: list, add, import, remove'
            cand serve 'Serve the REST API over HTTP (127.0.0.1:5103 unless told otherwise)'
            cand keys 'The server''s API keys: add (user or service), list, revoke'
            cand rebuild 'Recompute the running counts and online Elo from the votes table'
            cand migrate 'Copy a whole database to another (SQLite to PostgreSQL, or back to a file); resumable'
            cand trust 'Trust config.jsonc or models.json of the current directory (by path and content)'
            cand completions 'Print a shell completion script'
            cand generate-completions 'Write every completion script into a directory (used to refresh completions/)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'arena;help;init'= {
        }
        &'arena;help;battle'= {
        }
        &'arena;help;vote'= {
        }
        &'arena;help;show'= {
        }
        &'arena;help;battles'= {
        }
        &'arena;help;unstuck'= {
        }
        &'arena;help;import'= {
        }
        &'arena;help;export'= {
        }
        &'arena;help;leaderboard'= {
        }
        &'arena;help;stats'= {
            cand matrix 'Win-rate and match-count matrices between models'
            cand prompts 'Per-prompt battle counts and win rates, most battles first'
        }
        &'arena;help;stats;matrix'= {
        }
        &'arena;help;stats;prompts'= {
        }
        &'arena;help;models'= {
            cand list 'List the pool with tier, weight, endpoint and battles (the default)'
            cand check 'Call each model once and report latency or the error'
            cand sync 'Fetch each upstream''s /v1/models into available_models.json of the data directory'
        }
        &'arena;help;models;list'= {
        }
        &'arena;help;models;check'= {
        }
        &'arena;help;models;sync'= {
        }
        &'arena;help;prompts'= {
            cand list 'List the pool'
            cand add 'Add one prompt'
            cand import 'Import a prompt set: {"prompts": {id: text}}, [{id, text, theme}] or JSON Lines'
            cand remove 'Remove a prompt by id'
        }
        &'arena;help;prompts;list'= {
        }
        &'arena;help;prompts;add'= {
        }
        &'arena;help;prompts;import'= {
        }
        &'arena;help;prompts;remove'= {
        }
        &'arena;help;serve'= {
        }
        &'arena;help;keys'= {
            cand add 'Add a key and print it (shown only this once; only its hash is kept)'
            cand list 'List the keys: name, kind, created, last used, revoked (never a key)'
            cand revoke 'Revoke a key: a running server refuses it from its next request on'
        }
        &'arena;help;keys;add'= {
        }
        &'arena;help;keys;list'= {
        }
        &'arena;help;keys;revoke'= {
        }
        &'arena;help;rebuild'= {
        }
        &'arena;help;migrate'= {
        }
        &'arena;help;trust'= {
        }
        &'arena;help;completions'= {
        }
        &'arena;help;generate-completions'= {
        }
        &'arena;help;help'= {
        }
    ]
    $completions[$command]
}
