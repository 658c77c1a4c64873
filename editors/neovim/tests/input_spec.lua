-- input() and getpass() in user code: answered through vim.ui.input (stubbed here) and
-- vim.fn.inputsecret (stubbed; never vim.ui.input for a password); cancelling interrupts.
local T = ...

T.setup()

local prompts, secrets = {}, {}
local answer = 'Ada'
vim.ui.input = function(opts, cb)
  prompts[#prompts + 1] = opts and opts.prompt
  vim.schedule(function()
    cb(answer)
  end)
end
vim.fn.inputsecret = function(prompt)
  secrets[#secrets + 1] = prompt
  return 'hunter2'
end

local has_line = T.has_line

T.test('input(): the prompt goes to vim.ui.input and the answer reaches the kernel', function()
  T.scratch({ "name = input('Your name? ')", "print('hello', name)" })
  local footer, new = T.run_wait(function()
    T.rb().run_file()
  end)
  T.ok(footer:find('^✓'), footer .. '\n' .. new)
  T.eq(1, #prompts, 'vim.ui.input called once: ' .. vim.inspect(prompts))
  T.contains(prompts[1] or '', 'Your name?', 'prompt text')
  T.ok(has_line(new, 'hello Ada'), 'the answer reached the code:\n' .. new)
  T.contains(new, 'Your name? Ada', 'the transcript shows the prompt and the answer')
  T.eq(0, #secrets, 'no inputsecret for a plain input()')
end)

T.test('getpass(): asked with vim.fn.inputsecret, never vim.ui.input, and the secret is not shown', function()
  T.scratch({
    'import getpass',
    "pw = getpass.getpass('Secret: ')",
    "print('len', len(pw), pw[::-1] == '2retnuh')",
  })
  local footer, new = T.run_wait(function()
    T.rb().run_file()
  end)
  T.ok(footer:find('^✓'), footer .. '\n' .. new)
  T.eq(1, #secrets, 'inputsecret called once: ' .. vim.inspect(secrets))
  T.contains(secrets[1] or '', 'Secret:', 'password prompt text')
  T.eq(1, #prompts, 'vim.ui.input not used for the password: ' .. vim.inspect(prompts))
  T.ok(has_line(new, 'len 7 True'), 'the secret reached the code:\n' .. new)
  T.contains(new, 'Secret:', 'the prompt is in the output')
  T.not_contains(T.out_text('default'), 'hunter2', 'the password is masked')
end)

T.test('cancelling the prompt (cb(nil)) ends the run interrupted', function()
  answer = nil
  local src = T.scratch({ "x = input('Cancel me? ')", "print('NOT-' + 'REACHED')" })
  local footer, new = T.run_wait(function()
    T.rb().run_file()
  end)
  answer = 'Ada'
  T.ok(footer:find('^■ interrupted'), 'footer "■ interrupted", got ' .. footer .. '\n' .. new)
  T.contains(prompts[#prompts] or '', 'Cancel me?')
  T.not_contains(new, 'NOT-REACHED')
  T.wait_for(function()
    return T.status_at(src, 1):find('■ interrupted', 1, true)
  end, 5000, "'■ interrupted' status", function()
    return vim.inspect(T.status_marks(src))
  end)
  -- The kernel still answers afterwards.
  T.scratch({ "print('still-' + 'alive')" })
  local f2, new2 = T.run_wait(function()
    T.rb().run_line()
  end)
  T.ok(f2:find('^✓'), f2)
  T.ok(has_line(new2, 'still-alive'), new2)
end)
