# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_arena_global_optspecs
    string join \n db= config= v/verbose q/quiet color= no-progress models= h/help V/version
end

function __fish_arena_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_arena_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_arena_using_subcommand
    set -l cmd (__fish_arena_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c arena -n "__fish_arena_needs_command" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_needs_command" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_needs_command" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_needs_command" -l models -d 'The models file, models.json (or ARENA_MODELS). Give it before the subcommand' -r -F
complete -c arena -n "__fish_arena_needs_command" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_needs_command" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_needs_command" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_needs_command" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_needs_command" -s V -l version -d 'Print version'
complete -c arena -n "__fish_arena_needs_command" -f -a "init" -d 'Write a commented config.jsonc and a models.json template into the config directory'
complete -c arena -n "__fish_arena_needs_command" -f -a "battle" -d 'Start a blind battle between two models, then vote'
complete -c arena -n "__fish_arena_needs_command" -f -a "vote" -d 'Vote on a battle and reveal its models'
complete -c arena -n "__fish_arena_needs_command" -f -a "show" -d 'Show one battle (model names stay hidden until it has a vote)'
complete -c arena -n "__fish_arena_needs_command" -f -a "battles" -d 'List battles'
complete -c arena -n "__fish_arena_needs_command" -f -a "unstuck" -d 'Clear battles stuck in pending_generation'
complete -c arena -n "__fish_arena_needs_command" -f -a "import" -d 'Import battle records (FastChat/LMArena clean_battle JSON, JSON Lines, or CSV)'
complete -c arena -n "__fish_arena_needs_command" -f -a "export" -d 'Export battles, votes or the leaderboard (JSON Lines, CSV or JSON)'
complete -c arena -n "__fish_arena_needs_command" -f -a "leaderboard" -d 'Show the leaderboard'
complete -c arena -n "__fish_arena_needs_command" -f -a "stats" -d 'Statistics: win-rate and match-count matrices, per-prompt figures'
complete -c arena -n "__fish_arena_needs_command" -f -a "models" -d 'The model pool: list, check upstreams, sync upstream model lists'
complete -c arena -n "__fish_arena_needs_command" -f -a "prompts" -d 'The prompt pool: list, add, import, remove'
complete -c arena -n "__fish_arena_needs_command" -f -a "serve" -d 'Serve the REST API over HTTP (127.0.0.1:5103 unless told otherwise)'
complete -c arena -n "__fish_arena_needs_command" -f -a "keys" -d 'The server\'s API keys: add (user or service), list, revoke'
complete -c arena -n "__fish_arena_needs_command" -f -a "rebuild" -d 'Recompute the running counts and online Elo from the votes table'
complete -c arena -n "__fish_arena_needs_command" -f -a "migrate" -d 'Copy a whole database to another (SQLite to PostgreSQL, or back to a file); resumable'
complete -c arena -n "__fish_arena_needs_command" -f -a "trust" -d 'Trust config.jsonc or models.json of the current directory (by path and content)'
complete -c arena -n "__fish_arena_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c arena -n "__fish_arena_needs_command" -f -a "generate-completions" -d 'Write every completion script into a directory (used to refresh completions/)'
complete -c arena -n "__fish_arena_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c arena -n "__fish_arena_using_subcommand init" -l dir -d 'Write into this directory [default: the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand init" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand init" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand init" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand init" -l force -d 'Overwrite existing files'
complete -c arena -n "__fish_arena_using_subcommand init" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand init" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand init" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand init" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand battle" -l prompt-file -d 'Read the question from a file (its final line ends are dropped)' -r -F
complete -c arena -n "__fish_arena_using_subcommand battle" -l theme -d 'With --random-prompt: only prompts of this theme' -r
complete -c arena -n "__fish_arena_using_subcommand battle" -l models -l pair -d 'Pin the two models by name, e.g. --models gpt-4o,claude-3-opus (sides are still random). The models file itself is given before the subcommand: arena --models FILE battle' -r
complete -c arena -n "__fish_arena_using_subcommand battle" -l tier -d 'Draw both models from this tier' -r -f -a "high\t''
low\t''"
complete -c arena -n "__fish_arena_using_subcommand battle" -l system -d 'A system message for both models' -r
complete -c arena -n "__fish_arena_using_subcommand battle" -l temperature -d 'Sampling temperature passed to both models, from 0 to 2' -r
complete -c arena -n "__fish_arena_using_subcommand battle" -l max-tokens -d 'Maximum answer length in tokens, passed to both models' -r
complete -c arena -n "__fish_arena_using_subcommand battle" -l user -d 'Who is asking (stored only as a salted hash), e.g. cli:alice' -r
complete -c arena -n "__fish_arena_using_subcommand battle" -l format -d 'Output format (`table` is for people; json and jsonl for scripts)' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c arena -n "__fish_arena_using_subcommand battle" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand battle" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand battle" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand battle" -l random-prompt -d 'Take a random question from the prompt pool'
complete -c arena -n "__fish_arena_using_subcommand battle" -l no-vote -d 'Do not ask for a vote: print the battle id (or the battle with --format json) and exit'
complete -c arena -n "__fish_arena_using_subcommand battle" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand battle" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand battle" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand battle" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand vote" -l user -d 'Who votes (stored only as a salted hash)' -r
complete -c arena -n "__fish_arena_using_subcommand vote" -l format -d 'Output format (`table` is for people; json and jsonl for scripts)' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c arena -n "__fish_arena_using_subcommand vote" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand vote" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand vote" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand vote" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand vote" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand vote" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand vote" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand show" -l format -d 'Output format (`table` is for people; json and jsonl for scripts)' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c arena -n "__fish_arena_using_subcommand show" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand show" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand show" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand show" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand show" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand show" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand show" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand battles" -l status -d 'Only battles in this state' -r -f -a "pending_generation\t''
pending_vote\t''
completed\t''
failed\t''"
complete -c arena -n "__fish_arena_using_subcommand battles" -l model -d 'Only battles of this model (matches voted battles\' models only)' -r
complete -c arena -n "__fish_arena_using_subcommand battles" -l since -d 'Only battles created at or after this time (RFC 3339, e.g. 2026-01-31T00:00:00Z, or a date)' -r
complete -c arena -n "__fish_arena_using_subcommand battles" -l limit -d 'At most this many battles, newest first' -r
complete -c arena -n "__fish_arena_using_subcommand battles" -l format -d 'Output format' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
markdown\t''"
complete -c arena -n "__fish_arena_using_subcommand battles" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand battles" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand battles" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand battles" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand battles" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand battles" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand battles" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand unstuck" -l user -d 'Only this user\'s battles (default: everyone\'s)' -r
complete -c arena -n "__fish_arena_using_subcommand unstuck" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand unstuck" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand unstuck" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand unstuck" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand unstuck" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand unstuck" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand unstuck" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand import" -l input-format -d 'The file\'s format [default: by extension, then by its first character]' -r -f -a "auto\t''
json\t''
jsonl\t''
csv\t''"
complete -c arena -n "__fish_arena_using_subcommand import" -l column -d 'A field under another name, e.g. --column model_a=left (fields: model_a, model_b, winner, tstamp, judge, question_id, battle_id, vote_id); repeatable' -r
complete -c arena -n "__fish_arena_using_subcommand import" -l winner-value -d 'A winner value that means an outcome, e.g. --winner-value left=model_a (outcomes: model_a, model_b, tie, both_bad, skip); repeatable' -r
complete -c arena -n "__fish_arena_using_subcommand import" -l format -d 'Output format (`table` is for people; json and jsonl for scripts)' -r -f -a "table\t''
json\t''
jsonl\t''"
complete -c arena -n "__fish_arena_using_subcommand import" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand import" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand import" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand import" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand import" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand import" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand import" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand export" -l format -d 'Output format' -r -f -a "jsonl\t'One JSON object per line'
json\t'One JSON document'
csv\t'A header line and one row per record'"
complete -c arena -n "__fish_arena_using_subcommand export" -s o -l output -d 'Write to this file instead of stdout' -r -F
complete -c arena -n "__fish_arena_using_subcommand export" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand export" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand export" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand export" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand export" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand export" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l method -d 'Rating method' -r -f -a "bt\t'Bradley-Terry maximum likelihood with confidence intervals'
elo\t'Online Elo in vote order'
glicko2\t'Glicko-2, periodic and realtime'"
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l bootstrap -d 'Bootstrap rounds for the confidence intervals of bt (0 = sandwich estimator only) [default: 100]' -r
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l seed -d 'Seed of the bootstrap of bt [default: 0]' -r
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l ci -d 'Coverage of the confidence intervals of bt and glicko2 [default: 0.95]' -r
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l anchor -d 'Shift bt ratings so that MODEL has RATING, e.g. --anchor mixtral-8x7b-instruct-v0.1=1114' -r
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l min-battles -d 'Leave out models with fewer battles (and their votes)' -r
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l style-control -d 'Control for style (answer length and Markdown): the contextual Bradley-Terry model of arena-rank (the default) or FastChat\'s; the board shows the style coefficients and each model\'s rank change against the plain board' -r -f -a "arena-rank\t'arena-rank\'s ContextualBradleyTerry (LMArena\'s default board)'
fastchat\t'FastChat\'s earlier style control'"
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l since -d 'Only votes at or after this time (a date such as 2026-01-31, or RFC 3339)' -r
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l until -d 'Only votes before this time (a date or RFC 3339)' -r
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l tier -d 'Only battles between models of this tier (tiers come from models.json)' -r -f -a "high\t''
low\t''"
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l theme -d 'Only battles on prompts of this theme' -r
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l category -d 'Only votes in this category (repeatable: votes in every one named), e.g. coding, long_query, multiturn, language:en; `arena leaderboard --categories` lists them' -r
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l exclude-category -d 'Leave out votes in this category (repeatable)' -r
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -s o -l output -d 'Write to this file instead of stdout' -r -F
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l format -d 'Output format' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
markdown\t''"
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l categories -d 'One line per category instead of the board: its votes, its top model and that model\'s rank change against the board of all votes'
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l include-identity-leaks -d 'Count the votes whose answers named a model (kept, but left out by default)'
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l include-named -d 'Count the side-by-side votes of the web page, cast with the models named (kept, but left out by default)'
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand leaderboard" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c arena -n "__fish_arena_using_subcommand stats; and not __fish_seen_subcommand_from matrix prompts help" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand stats; and not __fish_seen_subcommand_from matrix prompts help" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand stats; and not __fish_seen_subcommand_from matrix prompts help" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand stats; and not __fish_seen_subcommand_from matrix prompts help" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand stats; and not __fish_seen_subcommand_from matrix prompts help" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand stats; and not __fish_seen_subcommand_from matrix prompts help" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand stats; and not __fish_seen_subcommand_from matrix prompts help" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand stats; and not __fish_seen_subcommand_from matrix prompts help" -f -a "matrix" -d 'Win-rate and match-count matrices between models'
complete -c arena -n "__fish_arena_using_subcommand stats; and not __fish_seen_subcommand_from matrix prompts help" -f -a "prompts" -d 'Per-prompt battle counts and win rates, most battles first'
complete -c arena -n "__fish_arena_using_subcommand stats; and not __fish_seen_subcommand_from matrix prompts help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l top -d 'Only the N models with the most battles (needed above 500 models)' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l since -d 'Only votes at or after this time (a date such as 2026-01-31, or RFC 3339)' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l until -d 'Only votes before this time (a date or RFC 3339)' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l tier -d 'Only battles between models of this tier (tiers come from models.json)' -r -f -a "high\t''
low\t''"
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l theme -d 'Only battles on prompts of this theme' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l category -d 'Only votes in this category (repeatable: votes in every one named), e.g. coding, long_query, multiturn, language:en; `arena leaderboard --categories` lists them' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l exclude-category -d 'Leave out votes in this category (repeatable)' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l format -d 'Output format' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
markdown\t''"
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l include-identity-leaks -d 'Count the votes whose answers named a model (kept, but left out by default)'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l include-named -d 'Count the side-by-side votes of the web page, cast with the models named (kept, but left out by default)'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from matrix" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l since -d 'Only votes at or after this time (a date such as 2026-01-31, or RFC 3339)' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l until -d 'Only votes before this time (a date or RFC 3339)' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l tier -d 'Only battles between models of this tier (tiers come from models.json)' -r -f -a "high\t''
low\t''"
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l theme -d 'Only battles on prompts of this theme' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l category -d 'Only votes in this category (repeatable: votes in every one named), e.g. coding, long_query, multiturn, language:en; `arena leaderboard --categories` lists them' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l exclude-category -d 'Leave out votes in this category (repeatable)' -r
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l format -d 'Output format' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
markdown\t''"
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l include-identity-leaks -d 'Count the votes whose answers named a model (kept, but left out by default)'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l include-named -d 'Count the side-by-side votes of the web page, cast with the models named (kept, but left out by default)'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from prompts" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from help" -f -a "matrix" -d 'Win-rate and match-count matrices between models'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from help" -f -a "prompts" -d 'Per-prompt battle counts and win rates, most battles first'
complete -c arena -n "__fish_arena_using_subcommand stats; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -l format -d 'Output format' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
markdown\t''"
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -f -a "list" -d 'List the pool with tier, weight, endpoint and battles (the default)'
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -f -a "check" -d 'Call each model once and report latency or the error'
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -f -a "sync" -d 'Fetch each upstream\'s /v1/models into available_models.json of the data directory'
complete -c arena -n "__fish_arena_using_subcommand models; and not __fish_seen_subcommand_from list check sync help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
markdown\t''"
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from list" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from list" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from list" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from list" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from check" -l format -d 'Output format' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
markdown\t''"
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from check" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from check" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from check" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from check" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from sync" -s o -l output -d 'Where to write [default: available_models.json in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from sync" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from sync" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from sync" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from sync" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from sync" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from sync" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from sync" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the pool with tier, weight, endpoint and battles (the default)'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "check" -d 'Call each model once and report latency or the error'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "sync" -d 'Fetch each upstream\'s /v1/models into available_models.json of the data directory'
complete -c arena -n "__fish_arena_using_subcommand models; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -f -a "list" -d 'List the pool'
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -f -a "add" -d 'Add one prompt'
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -f -a "import" -d 'Import a prompt set: {"prompts": {id: text}}, [{id, text, theme}] or JSON Lines'
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -f -a "remove" -d 'Remove a prompt by id'
complete -c arena -n "__fish_arena_using_subcommand prompts; and not __fish_seen_subcommand_from list add import remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from list" -l theme -d 'Only this theme' -r
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
markdown\t''"
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from list" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from list" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from list" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from list" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from add" -l id -d 'Its id [default: a hash of the text]' -r
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from add" -l theme -d 'Its theme [default: the id\'s prefix before `_`, else general]' -r
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from add" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from add" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from add" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from add" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from import" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from import" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from import" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from import" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from import" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from remove" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from remove" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from remove" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from remove" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the pool'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add one prompt'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import a prompt set: {"prompts": {id: text}}, [{id, text, theme}] or JSON Lines'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a prompt by id'
complete -c arena -n "__fish_arena_using_subcommand prompts; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c arena -n "__fish_arena_using_subcommand serve" -l host -d 'The address to listen on [default: host in config.jsonc, 127.0.0.1]; anything but this machine must be given here' -r
complete -c arena -n "__fish_arena_using_subcommand serve" -l port -d 'The port [default: battle_server_port in config.jsonc, 5103]; 0 picks a free one' -r
complete -c arena -n "__fish_arena_using_subcommand serve" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand serve" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand serve" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand serve" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand serve" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand serve" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand serve" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -f -a "add" -d 'Add a key and print it (shown only this once; only its hash is kept)'
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -f -a "list" -d 'List the keys: name, kind, created, last used, revoked (never a key)'
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -f -a "revoke" -d 'Revoke a key: a running server refuses it from its next request on'
complete -c arena -n "__fish_arena_using_subcommand keys; and not __fish_seen_subcommand_from add list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from add" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from add" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from add" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from add" -l service -d 'A service key: acts for the users its requests name (a bot, a chat front end), rather than being one user'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from add" -l trust-forwarded-user -d 'The service key may name its user with Open WebUI\'s X-OpenWebUI-User-Id header (turn on ENABLE_FORWARD_USER_INFO_HEADERS in Open WebUI)'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from add" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "table\t''
json\t''
jsonl\t''
csv\t''
markdown\t''"
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from list" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from list" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from list" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from list" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a key and print it (shown only this once; only its hash is kept)'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the keys: name, kind, created, last used, revoked (never a key)'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a key: a running server refuses it from its next request on'
complete -c arena -n "__fish_arena_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c arena -n "__fish_arena_using_subcommand rebuild" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand rebuild" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand rebuild" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand rebuild" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand rebuild" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand rebuild" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand rebuild" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand migrate" -l from -d 'The database to copy: a path, sqlite://PATH or postgres://... (read only)' -r -F
complete -c arena -n "__fish_arena_using_subcommand migrate" -l to -d 'Where to copy it: empty, or a copy of the same database cut short' -r -F
complete -c arena -n "__fish_arena_using_subcommand migrate" -l page-rows -d 'Rows a page (one transaction on the destination)' -r
complete -c arena -n "__fish_arena_using_subcommand migrate" -l stop-after-pages -d 'Stop after this many pages, as a copy cut short would (for tests of resuming)' -r
complete -c arena -n "__fish_arena_using_subcommand migrate" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand migrate" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand migrate" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand migrate" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand migrate" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand migrate" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand migrate" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand trust" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand trust" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand trust" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand trust" -l list -d 'List the trusted files'
complete -c arena -n "__fish_arena_using_subcommand trust" -l revoke -d 'Withdraw trust from these files instead'
complete -c arena -n "__fish_arena_using_subcommand trust" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand trust" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand trust" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand trust" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand completions" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand completions" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand completions" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand completions" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand completions" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand completions" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand completions" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand generate-completions" -l db -d 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand generate-completions" -l config -d 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]' -r -F
complete -c arena -n "__fish_arena_using_subcommand generate-completions" -l color -d 'When to use colour' -r -f -a "auto\t''
always\t''
never\t''"
complete -c arena -n "__fish_arena_using_subcommand generate-completions" -s v -l verbose -d 'Say more (which files are used, upstream details); repeat for more'
complete -c arena -n "__fish_arena_using_subcommand generate-completions" -s q -l quiet -d 'Print only results and errors'
complete -c arena -n "__fish_arena_using_subcommand generate-completions" -l no-progress -d 'Never draw progress bars'
complete -c arena -n "__fish_arena_using_subcommand generate-completions" -s h -l help -d 'Print help'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "init" -d 'Write a commented config.jsonc and a models.json template into the config directory'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "battle" -d 'Start a blind battle between two models, then vote'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "vote" -d 'Vote on a battle and reveal its models'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "show" -d 'Show one battle (model names stay hidden until it has a vote)'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "battles" -d 'List battles'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "unstuck" -d 'Clear battles stuck in pending_generation'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "import" -d 'Import battle records (FastChat/LMArena clean_battle JSON, JSON Lines, or CSV)'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "export" -d 'Export battles, votes or the leaderboard (JSON Lines, CSV or JSON)'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "leaderboard" -d 'Show the leaderboard'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "stats" -d 'Statistics: win-rate and match-count matrices, per-prompt figures'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "models" -d 'The model pool: list, check upstreams, sync upstream model lists'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "prompts" -d 'The prompt pool: list, add, import, remove'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "serve" -d 'Serve the REST API over HTTP (127.0.0.1:5103 unless told otherwise)'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "keys" -d 'The server\'s API keys: add (user or service), list, revoke'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "rebuild" -d 'Recompute the running counts and online Elo from the votes table'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "migrate" -d 'Copy a whole database to another (SQLite to PostgreSQL, or back to a file); resumable'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "trust" -d 'Trust config.jsonc or models.json of the current directory (by path and content)'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "generate-completions" -d 'Write every completion script into a directory (used to refresh completions/)'
complete -c arena -n "__fish_arena_using_subcommand help; and not __fish_seen_subcommand_from init battle vote show battles unstuck import export leaderboard stats models prompts serve keys rebuild migrate trust completions generate-completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from stats" -f -a "matrix" -d 'Win-rate and match-count matrices between models'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from stats" -f -a "prompts" -d 'Per-prompt battle counts and win rates, most battles first'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "list" -d 'List the pool with tier, weight, endpoint and battles (the default)'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "check" -d 'Call each model once and report latency or the error'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from models" -f -a "sync" -d 'Fetch each upstream\'s /v1/models into available_models.json of the data directory'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from prompts" -f -a "list" -d 'List the pool'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from prompts" -f -a "add" -d 'Add one prompt'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from prompts" -f -a "import" -d 'Import a prompt set: {"prompts": {id: text}}, [{id, text, theme}] or JSON Lines'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from prompts" -f -a "remove" -d 'Remove a prompt by id'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "add" -d 'Add a key and print it (shown only this once; only its hash is kept)'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "list" -d 'List the keys: name, kind, created, last used, revoked (never a key)'
complete -c arena -n "__fish_arena_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "revoke" -d 'Revoke a key: a running server refuses it from its next request on'
