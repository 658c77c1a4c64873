-- Neovim #2 of the quit-and-reopen test: the same environment as reopen_first_spec.lua, after it
-- quit. Attaching shows the earlier run from runbridge/history (its SVG saved again as a media
-- file) and x is still 41 in the kernel. It quits too; reopen_third_spec.lua follows.
local T = ...

T.setup()

local function index_of(haystack, needle, from)
  return haystack:find(needle, from or 1, true)
end

T.test('the reopened Neovim shows the earlier run, then runs print(x + 1) in the same kernel', function()
  local notes = T.capture_notify()
  T.scratch({ 'print(x + 1)' })
  local footer, new = T.run_wait(function()
    T.rb().run_line()
  end, 'default', 60000)
  T.ok(footer:find('^✓ finished in '), footer .. '\n' .. new)
  T.ok(T.has_line(new, '42'), 'x survived the quit: ' .. new)

  local all = T.out_text('default')
  local note = index_of(all, 'earlier output of session default: the last 1 run')
  local earlier_header = index_of(all, 'from IPython.display import SVG')
  local earlier_line = index_of(all, 'before-quit 41')
  local earlier_footer = index_of(all, '✓ finished (started ')
  local new_header = index_of(all, 'print(x + 1)')
  T.ok(note and earlier_header and earlier_line and earlier_footer and new_header, 'all parts shown:\n' .. all)
  T.ok(note < earlier_header and earlier_header < earlier_line, 'note, header, output in order:\n' .. all)
  T.ok(earlier_line < earlier_footer, 'the earlier run ends after its output:\n' .. all)
  T.ok(earlier_footer < new_header, 'the earlier run ends before the new one:\n' .. all)
  local _, count = all:gsub('before%-quit 41', '')
  T.eq(1, count, 'the earlier output once')

  local files = T.rb().media_files()
  T.eq(1, #files, 'the earlier SVG written to a media file: ' .. vim.inspect(files))
  T.eq('image/svg+xml', files[1].kind)
  T.contains(T.read_file(files[1].path) or '', '<rect width="4" height="4"/>', 'the SVG file')
  local said = vim.tbl_filter(function(n)
    return n.msg:find('1 media file of earlier runs of session default saved under', 1, true) ~= nil
  end, notes)
  T.eq(1, #said, 'one message for the replayed media: ' .. vim.inspect(notes))
end)
