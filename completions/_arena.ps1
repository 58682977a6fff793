
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'arena' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'arena'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'arena' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--models', '--models', [CompletionResultType]::ParameterName, 'The models file, models.json (or ARENA_MODELS). Give it before the subcommand')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented config.jsonc and a models.json template into the config directory')
            [CompletionResult]::new('battle', 'battle', [CompletionResultType]::ParameterValue, 'Start a blind battle between two models, then vote')
            [CompletionResult]::new('vote', 'vote', [CompletionResultType]::ParameterValue, 'Vote on a battle and reveal its models')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one battle (model names stay hidden until it has a vote)')
            [CompletionResult]::new('battles', 'battles', [CompletionResultType]::ParameterValue, 'List battles')
            [CompletionResult]::new('unstuck', 'unstuck', [CompletionResultType]::ParameterValue, 'Clear battles stuck in pending_generation')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import battle records (FastChat/LMArena clean_battle JSON, JSON Lines, or CSV)')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Export battles, votes or the leaderboard (JSON Lines, CSV or JSON)')
            [CompletionResult]::new('leaderboard', 'leaderboard', [CompletionResultType]::ParameterValue, 'Show the leaderboard')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Statistics: win-rate and match-count matrices, per-prompt figures')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'The model pool: list, check upstreams, sync upstream model lists')
            [CompletionResult]::new('prompts', 'prompts', [CompletionResultType]::ParameterValue, 'The prompt pool: list, add, import, remove')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the REST API over HTTP (127.0.0.1:5103 unless told otherwise)')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'The server''s API keys: add (user or service), list, revoke')
            [CompletionResult]::new('rebuild', 'rebuild', [CompletionResultType]::ParameterValue, 'Recompute the running counts and online Elo from the votes table')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy a whole database to another (SQLite to PostgreSQL, or back to a file); resumable')
            [CompletionResult]::new('trust', 'trust', [CompletionResultType]::ParameterValue, 'Trust config.jsonc or models.json of the current directory (by path and content)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate-completions', 'generate-completions', [CompletionResultType]::ParameterValue, 'Write every completion script into a directory (used to refresh completions/)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'arena;init' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write into this directory [default: the config directory]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite existing files')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;battle' {
            [CompletionResult]::new('--prompt-file', '--prompt-file', [CompletionResultType]::ParameterName, 'Read the question from a file (its final line ends are dropped)')
            [CompletionResult]::new('--theme', '--theme', [CompletionResultType]::ParameterName, 'With --random-prompt: only prompts of this theme')
            [CompletionResult]::new('--models', '--models', [CompletionResultType]::ParameterName, 'Pin the two models by name, e.g. --models gpt-4o,claude-3-opus (sides are still random). The models file itself is given before the subcommand: arena --models FILE battle')
            [CompletionResult]::new('--pair', '--pair', [CompletionResultType]::ParameterName, 'Pin the two models by name, e.g. --models gpt-4o,claude-3-opus (sides are still random). The models file itself is given before the subcommand: arena --models FILE battle')
            [CompletionResult]::new('--tier', '--tier', [CompletionResultType]::ParameterName, 'Draw both models from this tier')
            [CompletionResult]::new('--system', '--system', [CompletionResultType]::ParameterName, 'A system message for both models')
            [CompletionResult]::new('--temperature', '--temperature', [CompletionResultType]::ParameterName, 'Sampling temperature passed to both models, from 0 to 2')
            [CompletionResult]::new('--max-tokens', '--max-tokens', [CompletionResultType]::ParameterName, 'Maximum answer length in tokens, passed to both models')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Who is asking (stored only as a salted hash), e.g. cli:alice')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (`table` is for people; json and jsonl for scripts)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--random-prompt', '--random-prompt', [CompletionResultType]::ParameterName, 'Take a random question from the prompt pool')
            [CompletionResult]::new('--no-vote', '--no-vote', [CompletionResultType]::ParameterName, 'Do not ask for a vote: print the battle id (or the battle with --format json) and exit')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;vote' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Who votes (stored only as a salted hash)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (`table` is for people; json and jsonl for scripts)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;show' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (`table` is for people; json and jsonl for scripts)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;battles' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'Only battles in this state')
            [CompletionResult]::new('--model', '--model', [CompletionResultType]::ParameterName, 'Only battles of this model (matches voted battles'' models only)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only battles created at or after this time (RFC 3339, e.g. 2026-01-31T00:00:00Z, or a date)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'At most this many battles, newest first')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;unstuck' {
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Only this user''s battles (default: everyone''s)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;import' {
            [CompletionResult]::new('--input-format', '--input-format', [CompletionResultType]::ParameterName, 'The file''s format [default: by extension, then by its first character]')
            [CompletionResult]::new('--column', '--column', [CompletionResultType]::ParameterName, 'A field under another name, e.g. --column model_a=left (fields: model_a, model_b, winner, tstamp, judge, question_id, battle_id, vote_id); repeatable')
            [CompletionResult]::new('--winner-value', '--winner-value', [CompletionResultType]::ParameterName, 'A winner value that means an outcome, e.g. --winner-value left=model_a (outcomes: model_a, model_b, tie, both_bad, skip); repeatable')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (`table` is for people; json and jsonl for scripts)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;export' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to this file instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to this file instead of stdout')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'arena;leaderboard' {
            [CompletionResult]::new('--method', '--method', [CompletionResultType]::ParameterName, 'Rating method')
            [CompletionResult]::new('--bootstrap', '--bootstrap', [CompletionResultType]::ParameterName, 'Bootstrap rounds for the confidence intervals of bt (0 = sandwich estimator only) [default: 100]')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the bootstrap of bt [default: 0]')
            [CompletionResult]::new('--ci', '--ci', [CompletionResultType]::ParameterName, 'Coverage of the confidence intervals of bt and glicko2 [default: 0.95]')
            [CompletionResult]::new('--anchor', '--anchor', [CompletionResultType]::ParameterName, 'Shift bt ratings so that MODEL has RATING, e.g. --anchor mixtral-8x7b-instruct-v0.1=1114')
            [CompletionResult]::new('--min-battles', '--min-battles', [CompletionResultType]::ParameterName, 'Leave out models with fewer battles (and their votes)')
            [CompletionResult]::new('--style-control', '--style-control', [CompletionResultType]::ParameterName, 'Control for style (answer length and Markdown): the contextual Bradley-Terry model of arena-rank (the default) or FastChat''s; the board shows the style coefficients and each model''s rank change against the plain board')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only votes at or after this time (a date such as 2026-01-31, or RFC 3339)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only votes before this time (a date or RFC 3339)')
            [CompletionResult]::new('--tier', '--tier', [CompletionResultType]::ParameterName, 'Only battles between models of this tier (tiers come from models.json)')
            [CompletionResult]::new('--theme', '--theme', [CompletionResultType]::ParameterName, 'Only battles on prompts of this theme')
            [CompletionResult]::new('--category', '--category', [CompletionResultType]::ParameterName, 'Only votes in this category (repeatable: votes in every one named), e.g. coding, long_query, multiturn, language:en; `arena leaderboard --categories` lists them')
            [CompletionResult]::new('--exclude-category', '--exclude-category', [CompletionResultType]::ParameterName, 'Leave out votes in this category (repeatable)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to this file instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to this file instead of stdout')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--categories', '--categories', [CompletionResultType]::ParameterName, 'One line per category instead of the board: its votes, its top model and that model''s rank change against the board of all votes')
            [CompletionResult]::new('--include-identity-leaks', '--include-identity-leaks', [CompletionResultType]::ParameterName, 'Count the votes whose answers named a model (kept, but left out by default)')
            [CompletionResult]::new('--include-named', '--include-named', [CompletionResultType]::ParameterName, 'Count the side-by-side votes of the web page, cast with the models named (kept, but left out by default)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'arena;stats' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('matrix', 'matrix', [CompletionResultType]::ParameterValue, 'Win-rate and match-count matrices between models')
            [CompletionResult]::new('prompts', 'prompts', [CompletionResultType]::ParameterValue, 'Per-prompt battle counts and win rates, most battles first')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'arena;stats;matrix' {
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'Only the N models with the most battles (needed above 500 models)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only votes at or after this time (a date such as 2026-01-31, or RFC 3339)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only votes before this time (a date or RFC 3339)')
            [CompletionResult]::new('--tier', '--tier', [CompletionResultType]::ParameterName, 'Only battles between models of this tier (tiers come from models.json)')
            [CompletionResult]::new('--theme', '--theme', [CompletionResultType]::ParameterName, 'Only battles on prompts of this theme')
            [CompletionResult]::new('--category', '--category', [CompletionResultType]::ParameterName, 'Only votes in this category (repeatable: votes in every one named), e.g. coding, long_query, multiturn, language:en; `arena leaderboard --categories` lists them')
            [CompletionResult]::new('--exclude-category', '--exclude-category', [CompletionResultType]::ParameterName, 'Leave out votes in this category (repeatable)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--include-identity-leaks', '--include-identity-leaks', [CompletionResultType]::ParameterName, 'Count the votes whose answers named a model (kept, but left out by default)')
            [CompletionResult]::new('--include-named', '--include-named', [CompletionResultType]::ParameterName, 'Count the side-by-side votes of the web page, cast with the models named (kept, but left out by default)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;stats;prompts' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only votes at or after this time (a date such as 2026-01-31, or RFC 3339)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only votes before this time (a date or RFC 3339)')
            [CompletionResult]::new('--tier', '--tier', [CompletionResultType]::ParameterName, 'Only battles between models of this tier (tiers come from models.json)')
            [CompletionResult]::new('--theme', '--theme', [CompletionResultType]::ParameterName, 'Only battles on prompts of this theme')
            [CompletionResult]::new('--category', '--category', [CompletionResultType]::ParameterName, 'Only votes in this category (repeatable: votes in every one named), e.g. coding, long_query, multiturn, language:en; `arena leaderboard --categories` lists them')
            [CompletionResult]::new('--exclude-category', '--exclude-category', [CompletionResultType]::ParameterName, 'Leave out votes in this category (repeatable)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--include-identity-leaks', '--include-identity-leaks', [CompletionResultType]::ParameterName, 'Count the votes whose answers named a model (kept, but left out by default)')
            [CompletionResult]::new('--include-named', '--include-named', [CompletionResultType]::ParameterName, 'Count the side-by-side votes of the web page, cast with the models named (kept, but left out by default)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;stats;help' {
            [CompletionResult]::new('matrix', 'matrix', [CompletionResultType]::ParameterValue, 'Win-rate and match-count matrices between models')
            [CompletionResult]::new('prompts', 'prompts', [CompletionResultType]::ParameterValue, 'Per-prompt battle counts and win rates, most battles first')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'arena;stats;help;matrix' {
            break
        }
        'arena;stats;help;prompts' {
            break
        }
        'arena;stats;help;help' {
            break
        }
        'arena;models' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the pool with tier, weight, endpoint and battles (the default)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Call each model once and report latency or the error')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Fetch each upstream''s /v1/models into available_models.json of the data directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'arena;models;list' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;models;check' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;models;sync' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Where to write [default: available_models.json in the data directory]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Where to write [default: available_models.json in the data directory]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;models;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the pool with tier, weight, endpoint and battles (the default)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Call each model once and report latency or the error')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Fetch each upstream''s /v1/models into available_models.json of the data directory')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'arena;models;help;list' {
            break
        }
        'arena;models;help;check' {
            break
        }
        'arena;models;help;sync' {
            break
        }
        'arena;models;help;help' {
            break
        }
        'arena;prompts' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the pool')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add one prompt')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import a prompt set: {"prompts": {id: text}}, [{id, text, theme}] or JSON Lines')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a prompt by id')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'arena;prompts;list' {
            [CompletionResult]::new('--theme', '--theme', [CompletionResultType]::ParameterName, 'Only this theme')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;prompts;add' {
            [CompletionResult]::new('--id', '--id', [CompletionResultType]::ParameterName, 'Its id [default: a hash of the text]')
            [CompletionResult]::new('--theme', '--theme', [CompletionResultType]::ParameterName, 'Its theme [default: the id''s prefix before `_`, else general]')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;prompts;import' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;prompts;remove' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;prompts;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the pool')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add one prompt')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import a prompt set: {"prompts": {id: text}}, [{id, text, theme}] or JSON Lines')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a prompt by id')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'arena;prompts;help;list' {
            break
        }
        'arena;prompts;help;add' {
            break
        }
        'arena;prompts;help;import' {
            break
        }
        'arena;prompts;help;remove' {
            break
        }
        'arena;prompts;help;help' {
            break
        }
        'arena;serve' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'The address to listen on [default: host in config.jsonc, 127.0.0.1]; anything but this machine must be given here')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The port [default: battle_server_port in config.jsonc, 5103]; 0 picks a free one')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;keys' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a key and print it (shown only this once; only its hash is kept)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the keys: name, kind, created, last used, revoked (never a key)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key: a running server refuses it from its next request on')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'arena;keys;add' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, 'A service key: acts for the users its requests name (a bot, a chat front end), rather than being one user')
            [CompletionResult]::new('--trust-forwarded-user', '--trust-forwarded-user', [CompletionResultType]::ParameterName, 'The service key may name its user with Open WebUI''s X-OpenWebUI-User-Id header (turn on ENABLE_FORWARD_USER_INFO_HEADERS in Open WebUI)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;keys;list' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;keys;revoke' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;keys;help' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a key and print it (shown only this once; only its hash is kept)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the keys: name, kind, created, last used, revoked (never a key)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key: a running server refuses it from its next request on')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'arena;keys;help;add' {
            break
        }
        'arena;keys;help;list' {
            break
        }
        'arena;keys;help;revoke' {
            break
        }
        'arena;keys;help;help' {
            break
        }
        'arena;rebuild' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;migrate' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The database to copy: a path, sqlite://PATH or postgres://... (read only)')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'Where to copy it: empty, or a copy of the same database cut short')
            [CompletionResult]::new('--page-rows', '--page-rows', [CompletionResultType]::ParameterName, 'Rows a page (one transaction on the destination)')
            [CompletionResult]::new('--stop-after-pages', '--stop-after-pages', [CompletionResultType]::ParameterName, 'Stop after this many pages, as a copy cut short would (for tests of resuming)')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;trust' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--list', '--list', [CompletionResultType]::ParameterName, 'List the trusted files')
            [CompletionResult]::new('--revoke', '--revoke', [CompletionResultType]::ParameterName, 'Withdraw trust from these files instead')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;completions' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;generate-completions' {
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'The database, an SQLite file or a postgres URL (or ARENA_DB) [default: arena.sqlite3 in the data directory]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'The configuration file (or ARENA_CONFIG) [default: ./config.jsonc, else the config directory]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (which files are used, upstream details); repeat for more')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only results and errors')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Never draw progress bars')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'arena;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write a commented config.jsonc and a models.json template into the config directory')
            [CompletionResult]::new('battle', 'battle', [CompletionResultType]::ParameterValue, 'Start a blind battle between two models, then vote')
            [CompletionResult]::new('vote', 'vote', [CompletionResultType]::ParameterValue, 'Vote on a battle and reveal its models')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one battle (model names stay hidden until it has a vote)')
            [CompletionResult]::new('battles', 'battles', [CompletionResultType]::ParameterValue, 'List battles')
            [CompletionResult]::new('unstuck', 'unstuck', [CompletionResultType]::ParameterValue, 'Clear battles stuck in pending_generation')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import battle records (FastChat/LMArena clean_battle JSON, JSON Lines, or CSV)')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Export battles, votes or the leaderboard (JSON Lines, CSV or JSON)')
            [CompletionResult]::new('leaderboard', 'leaderboard', [CompletionResultType]::ParameterValue, 'Show the leaderboard')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Statistics: win-rate and match-count matrices, per-prompt figures')
            [CompletionResult]::new('models', 'models', [CompletionResultType]::ParameterValue, 'The model pool: list, check upstreams, sync upstream model lists')
            [CompletionResult]::new('prompts', 'prompts', [CompletionResultType]::ParameterValue, 'The prompt pool: list, add, import, remove')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve the REST API over HTTP (127.0.0.1:5103 unless told otherwise)')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'The server''s API keys: add (user or service), list, revoke')
            [CompletionResult]::new('rebuild', 'rebuild', [CompletionResultType]::ParameterValue, 'Recompute the running counts and online Elo from the votes table')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy a whole database to another (SQLite to PostgreSQL, or back to a file); resumable')
            [CompletionResult]::new('trust', 'trust', [CompletionResultType]::ParameterValue, 'Trust config.jsonc or models.json of the current directory (by path and content)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('generate-completions', 'generate-completions', [CompletionResultType]::ParameterValue, 'Write every completion script into a directory (used to refresh completions/)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'arena;help;init' {
            break
        }
        'arena;help;battle' {
            break
        }
        'arena;help;vote' {
            break
        }
        'arena;help;show' {
            break
        }
        'arena;help;battles' {
            break
        }
        'arena;help;unstuck' {
            break
        }
        'arena;help;import' {
            break
        }
        'arena;help;export' {
            break
        }
        'arena;help;leaderboard' {
            break
        }
        'arena;help;stats' {
            [CompletionResult]::new('matrix', 'matrix', [CompletionResultType]::ParameterValue, 'Win-rate and match-count matrices between models')
            [CompletionResult]::new('prompts', 'prompts', [CompletionResultType]::ParameterValue, 'Per-prompt battle counts and win rates, most battles first')
            break
        }
        'arena;help;stats;matrix' {
            break
        }
        'arena;help;stats;prompts' {
            break
        }
        'arena;help;models' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the pool with tier, weight, endpoint and battles (the default)')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Call each model once and report latency or the error')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Fetch each upstream''s /v1/models into available_models.json of the data directory')
            break
        }
        'arena;help;models;list' {
            break
        }
        'arena;help;models;check' {
            break
        }
        'arena;help;models;sync' {
            break
        }
        'arena;help;prompts' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the pool')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add one prompt')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Import a prompt set: {"prompts": {id: text}}, [{id, text, theme}] or JSON Lines')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Remove a prompt by id')
            break
        }
        'arena;help;prompts;list' {
            break
        }
        'arena;help;prompts;add' {
            break
        }
        'arena;help;prompts;import' {
            break
        }
        'arena;help;prompts;remove' {
            break
        }
        'arena;help;serve' {
            break
        }
        'arena;help;keys' {
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Add a key and print it (shown only this once; only its hash is kept)')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the keys: name, kind, created, last used, revoked (never a key)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke a key: a running server refuses it from its next request on')
            break
        }
        'arena;help;keys;add' {
            break
        }
        'arena;help;keys;list' {
            break
        }
        'arena;help;keys;revoke' {
            break
        }
        'arena;help;rebuild' {
            break
        }
        'arena;help;migrate' {
            break
        }
        'arena;help;trust' {
            break
        }
        'arena;help;completions' {
            break
        }
        'arena;help;generate-completions' {
            break
        }
        'arena;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
