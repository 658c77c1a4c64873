-- An image/png display: saved as a .png under media.dir (valid bytes, identical to what the
-- kernel displayed), listed by media_files(), and announced by a vim.notify naming the file.
local T = ...

local opts = T.setup()
local media_dir = opts.media.dir

T.test('an image/png record lands as a file under media.dir, is listed and reported', function()
  local notes = T.capture_notify()
  local expected = T.tmp .. '/expected.png'
  T.scratch({
    'import struct, zlib',
    'from IPython.display import Image, display',
    'def chunk(tag, data):',
    "    return struct.pack('>I', len(data)) + tag + data + struct.pack('>I', zlib.crc32(tag + data) & 0xffffffff)",
    "row = b'\\x00' + bytes((200, 30, 30)) * 4",
    "png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 4, 3, 8, 2, 0, 0, 0))",
    "       + chunk(b'IDAT', zlib.compress(row * 3)) + chunk(b'IEND', b''))",
    ('open(%q, "wb").write(png)'):format(expected),
    'display(Image(data=png))',
    "print('shown', len(png))",
  })
  local footer, new = T.run_wait(function()
    T.rb().run_file()
  end)
  T.ok(footer:find('^✓'), footer .. '\n' .. new)
  T.contains(new, 'shown ', 'the code ran')

  local files = T.wait_for(function()
    local f = T.rb().media_files()
    return #f > 0 and f
  end, 5000, 'media_files() to list the image')
  T.eq(1, #files, 'one media file: ' .. vim.inspect(files))
  local m = files[#files]
  T.eq('image/png', m.kind, 'kind')
  T.eq('default', m.session, 'session')
  T.ok(type(m.run_id) == 'string' and m.run_id ~= '', 'run_id is the run id: ' .. vim.inspect(m.run_id))
  T.ok(m.path:sub(-4) == '.png', 'a .png file: ' .. m.path)
  local real_dir = vim.uv.fs_realpath(media_dir)
  local real_file = vim.uv.fs_realpath(m.path)
  T.ok(real_file, 'the file exists: ' .. m.path)
  T.ok(real_file:sub(1, #real_dir + 1) == real_dir .. '/', ('%s is under media.dir %s'):format(real_file, real_dir))

  local data = T.read_file(m.path)
  T.eq('\137PNG\r\n\26\n', data:sub(1, 8), 'PNG signature')
  local want = T.read_file(expected)
  T.ok(want and #want > 8, 'the kernel wrote the expected bytes')
  T.ok(data == want, ('decoded file equals the displayed PNG (%d vs %d bytes)'):format(#data, #want))

  local reported = false
  for _, n in ipairs(notes) do
    if n.msg:find(m.path, 1, true) then
      reported = true
    end
  end
  T.ok(reported, 'a vim.notify message names the file: ' .. vim.inspect(notes))
end)

T.test('a second image from a later run is a second file, listed newest last', function()
  T.scratch({
    'from IPython.display import Image, display',
    "display(Image(data=open(" .. ('%q'):format(T.tmp .. '/expected.png') .. ", 'rb').read()))",
  })
  T.run_wait(function()
    T.rb().run_file()
  end)
  local files = T.wait_for(function()
    local f = T.rb().media_files()
    return #f >= 2 and f
  end, 5000, 'a second entry in media_files()', function()
    return vim.inspect(T.rb().media_files())
  end)
  T.eq(2, #files)
  T.ok(files[1].path ~= files[2].path, 'distinct files: ' .. vim.inspect(files))
  T.ok(files[1].run_id ~= files[2].run_id, 'distinct run ids')
  T.ok(T.read_file(files[2].path) == T.read_file(files[1].path), 'same image, same bytes')
end)

T.test('open_media() opens the newest media file (or a given path) with vim.ui.open', function()
  local opened = {}
  local orig = vim.ui.open
  vim.ui.open = function(path)
    opened[#opened + 1] = path
    return { wait = function() end }, nil
  end
  local ok, err = pcall(function()
    local files = T.rb().media_files()
    T.rb().open_media()
    T.eq({ files[#files].path }, opened, 'the newest file')
    vim.cmd('Runbridge open-media ' .. vim.fn.fnameescape(files[1].path))
    T.eq(files[1].path, opened[2], ':Runbridge open-media PATH')
  end)
  vim.ui.open = orig
  T.ok(ok, err)
end)

T.test('a display with an id is rewritten in place by its updates, even from a later run', function()
  local before = #T.rb().media_files()
  T.scratch({
    'from IPython.display import SVG, display, update_display',
    'def box(colour):',
    [[    return SVG('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect fill="%s"/></svg>' % colour)]],
    "h = display(box('red'), display_id='bar')",
    "h.update(box('green'))",
  })
  local footer = T.run_wait(function()
    T.rb().run_file()
  end)
  T.ok(footer:find('^✓'), footer)
  local files = T.wait_for(function()
    local f = T.rb().media_files()
    return #f > before and f
  end, 5000, 'the display to be saved')
  T.eq(before + 1, #files, 'one file for the display and its update: ' .. vim.inspect(files))
  local path = files[#files].path
  T.wait_for(function()
    return (T.read_file(path) or ''):find('green', 1, true)
  end, 5000, 'the file to show the update', function()
    return T.read_file(path)
  end)
  T.ok(not T.read_file(path):find('red', 1, true), 'the first version is gone')

  T.scratch({ "h.update(box('blue'))" })
  T.run_wait(function()
    T.rb().run_file()
  end)
  T.wait_for(function()
    return (T.read_file(path) or ''):find('blue', 1, true)
  end, 5000, 'a later run to update the same file')
  T.eq(before + 1, #T.rb().media_files(), 'still one file')
  T.eq(path, T.rb().media_files()[#T.rb().media_files()].path, 'same path')

  T.scratch({ "update_display(box('grey'), display_id='never-shown')", "print('after')" })
  local _, new = T.run_wait(function()
    T.rb().run_file()
  end)
  T.contains(new, 'after', 'the run finished')
  T.eq(before + 1, #T.rb().media_files(), 'an update of a display not shown adds nothing')
  T.ok(not new:find('image/svg', 1, true), 'and leaves no note in the output: ' .. new)
end)
