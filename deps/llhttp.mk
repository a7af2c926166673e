# llhttp: Debian's node-llhttp ships the generated C parser as sources, not as a library.
# Compile them into a static archive with their own flags (they are third-party code: no -Werror).
LLHTTP_SRC ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp
LLHTTP_OBJ := $(patsubst $(LLHTTP_SRC)/%.c,$(BUILD)/deps/llhttp/%.o,$(wildcard $(LLHTTP_SRC)/*.c))
LLHTTP_LIB := $(BUILD)/deps/libllhttp.a

$(BUILD)/deps/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(@D)
	$(CC) -O2 -g $(SAN_FLAGS) $(FUZZ_FLAGS) -I$(LLHTTP_INC) -c $< -o $@

$(LLHTTP_LIB): $(LLHTTP_OBJ)
	@test -n "$(LLHTTP_OBJ)" || { echo "llhttp sources not found in $(LLHTTP_SRC): run deps/install.sh" >&2; exit 1; }
	$(AR) rcs $@ $^
