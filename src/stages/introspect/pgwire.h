/*
 * pgwire.h: the libpq functions pglive.c calls, as a table filled
 * either from libpq (dlsym) or by pgwire.c, introspect's own client of
 * PostgreSQL's protocol for the connections it can make alone.
 */
#ifndef PGWIRE_H
#define PGWIRE_H

#include <postgresql/libpq-fe.h>

struct pqapi {
	__typeof__(PQconnectdbParams)	*connectdbParams;
	__typeof__(PQstatus)		*status;
	__typeof__(PQerrorMessage)	*errorMessage;
	__typeof__(PQconnectionNeedsPassword) *needsPassword;
	__typeof__(PQfinish)		*finish;
	__typeof__(PQhost)		*host;
	__typeof__(PQport)		*port;
	__typeof__(PQdb)		*db;
	__typeof__(PQexecParams)	*execParams;
	__typeof__(PQresultStatus)	*resultStatus;
	__typeof__(PQresultErrorField)	*resultErrorField;
	__typeof__(PQntuples)		*ntuples;
	__typeof__(PQnfields)		*nfields;
	__typeof__(PQgetvalue)		*getvalue;
	__typeof__(PQgetisnull)		*getisnull;
	__typeof__(PQclear)		*clear;
	__typeof__(PQserverVersion)	*serverVersion;
	__typeof__(PQescapeLiteral)	*escapeLiteral;
	__typeof__(PQfreemem)		*freemem;
	__typeof__(PQsendQuery)		*sendQuery;
	__typeof__(PQgetResult)		*getResult;
};

/*
 * 1 if the built-in client can make the connection conninfo names
 * (and then it remembers how), 0 if only libpq can
 */
int	pgwire_usable(const char *conninfo);
/* the built-in client's functions into api */
void	pgwire_api(struct pqapi *api);

#endif
