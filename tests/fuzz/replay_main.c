/*
 * replay_main.c - runs a libFuzzer entry point over every file of a corpus
 * directory (argv[1]) without libFuzzer, so that the normal test run
 * replays the corpus. Fails if the directory cannot be read or holds no
 * file.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* replay - feed one file; -1 if it cannot be read. */
static int
replay(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (fp == NULL)
		return -1;
	if (fseek(fp, 0, SEEK_END) != 0 || (len = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fclose(fp);
		return -1;
	}
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (buf == NULL || fread(buf, 1, (size_t)len, fp) != (size_t)len) {
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	char path[4096];
	struct dirent *de;
	struct stat st;
	DIR *d;
	unsigned n = 0, bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s corpus-directory\n", argv[0]);
		return 2;
	}
	if ((d = opendir(argv[1])) == NULL) {
		perror(argv[1]);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", argv[1],
		    de->d_name) >= sizeof(path) || stat(path, &st) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (replay(path) != 0) {
			fprintf(stderr, "%s: cannot read\n", path);
			bad++;
		}
		n++;
	}
	closedir(d);
	printf("%u inputs replayed from %s\n", n, argv[1]);
	return n == 0 || bad > 0 ? 1 : 0;
}
