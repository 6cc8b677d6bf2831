-- scrobctl for mpv: each music file played becomes a playback event for `scrobctl scrobble`.
--
-- Install: copy to ~/.config/mpv/scripts/scrobctl.lua. Options (script-opts/scrobctl.conf or
-- --script-opts=scrobctl-command=/path/to/scrobctl): command, profile.
--
-- Time counts while mpv plays (mp.get_time() between pause changes), so pauses and seeks
-- forward add nothing. A play ends at `end-file` (reasons eof, stop, quit; error and redirect
-- drop it) or when `time-pos` jumps back into the first seconds (--loop-file, or a seek to the
-- start), which starts a new play. A play starts at now - time-pos and is sent as now playing.
-- Thresholds and duplicates are scrobctl's business: every play is handed over.

local utils = require("mp.utils")
local options = require("mp.options")

local opts = { command = "scrobctl", profile = "" }
options.read_options(opts, "scrobctl")

local RESTART_WITHIN = 5 -- seconds: a jump back to before this is the file starting again
local SEEK_SLACK = 2

local play = nil

local function tag(meta, key)
    for k, v in pairs(meta or {}) do
        if k:lower() == key then return v end
    end
end

local function is_video()
    for _, track in ipairs(mp.get_property_native("track-list") or {}) do
        if track.type == "video" and not track.albumart and not track.image then return true end
    end
    return false
end

-- Each event goes to its own detached `scrobctl scrobble`: mpv neither waits for it nor kills
-- it when it quits (the last play of a playlist is sent as mpv leaves). What scrobctl says of
-- each event (queued, below threshold, now playing, errors) goes to
-- $XDG_STATE_HOME/scrobctl-mpv.log (~/.local/state/scrobctl-mpv.log).
local SEND = [[
log_dir=${XDG_STATE_HOME:-$HOME/.local/state}
mkdir -p "$log_dir"
printf '%s\n' "$1" | "$2" scrobble 2>>"$log_dir/scrobctl-mpv.log"
]]

local function send(event)
    if opts.profile ~= "" then event.profile = opts.profile end
    mp.command_native({
        name = "subprocess",
        args = { "sh", "-c", SEND, "scrobctl-mpv", utils.format_json(event), opts.command },
        playback_only = false,
        detach = true,
    })
end

local function event(kind)
    local e = { type = "track", event = kind, title = play.title, artist = play.artist,
                album = play.album, watched_at = play.started }
    if play.duration and play.duration > 0 then e.duration_ms = math.floor(play.duration * 1000) end
    if play.mbid then e.ids = { mbid = play.mbid } end
    return e
end

local function counted()
    local seconds = play.counted
    if play.resumed_at then seconds = seconds + mp.get_time() - play.resumed_at end
    if play.duration and play.duration > 0 then seconds = math.min(seconds, play.duration) end
    return seconds
end

local function announce()
    if play and not play.announced and play.resumed_at then
        play.announced = true
        send(event("start"))
    end
end

local function finish()
    if play and play.announced then
        local e = event("stop")
        e.watched_ms = math.floor(counted() * 1000)
        send(e)
    end
    play = nil
end

local function begin(position)
    if is_video() then return end
    local meta = mp.get_property_native("metadata")
    play = {
        title = tag(meta, "title") or mp.get_property("media-title"),
        artist = tag(meta, "artist") or tag(meta, "album_artist"),
        album = tag(meta, "album"),
        mbid = tag(meta, "musicbrainz_trackid") or tag(meta, "musicbrainz track id"),
        duration = mp.get_property_number("duration"),
        started = os.time() - math.floor(position + 0.5),
        counted = 0,
        resumed_at = (not mp.get_property_bool("pause")) and mp.get_time() or nil,
        last_pos = position,
    }
    announce()
end

mp.register_event("file-loaded", function() begin(mp.get_property_number("time-pos") or 0) end)

mp.register_event("end-file", function(e)
    if e.reason == "eof" or e.reason == "stop" or e.reason == "quit" then
        finish()
    else
        play = nil -- error, redirect: not a play
    end
end)

mp.observe_property("pause", "bool", function(_, paused)
    if not play then return end
    if paused and play.resumed_at then
        play.counted = play.counted + mp.get_time() - play.resumed_at
        play.resumed_at = nil
    elseif not paused and not play.resumed_at then
        play.resumed_at = mp.get_time()
        announce()
    end
end)

mp.observe_property("time-pos", "number", function(_, position)
    if not play or not position then return end
    if position < play.last_pos - SEEK_SLACK and position < RESTART_WITHIN then
        finish()
        begin(position)
    elseif play then
        play.last_pos = position
    end
end)
