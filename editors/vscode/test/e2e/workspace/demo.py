# runbridge end-to-end fixture. test/e2e/scenario.mjs finds each line below by its
# text (not by its number), so lines may move, but keep every line distinct.

# step a: run one line
print("hello from runbridge", 6 * 7)

# step b: input() answered through a VS Code InputBox
name = input("Your name: ")
print("hi", name)

# step c: select from the next line to the display() line and run the selection:
# a 16x16 red PNG built by hand (no matplotlib), shown in the media panel
import struct, zlib
def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
raw_rows = b"".join(b"\x00" + b"\xff\x00\x00" * 16 for _ in range(16))
png_bytes = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
             + png_chunk(b"IDAT", zlib.compress(raw_rows)) + png_chunk(b"IEND", b""))
from IPython.display import display, Image
display(Image(data=png_bytes))

# step c2: a display with an id, shown by one run and updated by the next: one card, redrawn
from IPython.display import SVG; bar = display(SVG('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#0000ff"/></svg>'), display_id=True)
bar.update(SVG('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#00ff00"/></svg>'))

# step e: a long run, interrupted; then the session must still answer
import time; print("asleep", "now", flush=True); time.sleep(120)
print("after interrupt")

# step diagnostic: an error in user code becomes a diagnostic on this line
result = 10 / 0

# step password: getpass() opens a masked InputBox (answered once, cancelled once)
import getpass; token = getpass.getpass("Token: ")
print("token length", len(token))
print("after password escape")

# step language: a name only the kernel knows once this line ran (completion), a function
# whose docstring the hover shows, and both in the Variables view
kernel_only_name_42 = 1
def rb_documented(a, b): "rb docstring for the hover"; return a + b
# (never run) completion is asked at the end of the next line
kernel_only_n

# step upload: data.csv (uploaded with Runbridge: Upload Files) read in the session work folder
print(open("data.csv").read().strip())

# step cell-lens: the code lens "Run Cell" above the next marker runs this cell
# %% a cell for the code lens
cell_value = 6 * 7
print("cell says", cell_value)
# %% the end of the cell above
